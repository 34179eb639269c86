//! The two SQL engines a store runs on, and the one place where their dialects differ
//! in statement text.
//!
//! Stores write one statement for both engines, in the SQL the two share: `ON CONFLICT`
//! upserts, `RETURNING`, `CASE`, `coalesce`, `||`. What SQLite spells its own way is
//! rewritten here for PostgreSQL, statement by statement, just before it is sent:
//!
//! | SQLite, as stores write it     | PostgreSQL, as sent                              |
//! |--------------------------------|--------------------------------------------------|
//! | `?` and `?3` placeholders      | `$1` and `$3`, cast to the bound value's type    |
//! | `json_each(x)`                 | `json_array_elements_text((x)::json)`            |
//! | `json_array_length(x)`         | `json_array_length((x)::json)`                   |
//! | `t INDEXED BY some_index`      | `t` (PostgreSQL's planner takes no hints)        |
//!
//! Placeholders are typed from the values bound to them (`$1::int8`, `$2::text`):
//! PostgreSQL infers a parameter's type from where it stands, so `?4 = 0` would be an
//! `int4` that Spin's 64-bit integer may not be bound to, and `SELECT ?` no type at
//! all. A `NULL` stays untyped and takes the type its place gives it.
//!
//! What no rewrite can bridge (SQLite's R*Tree and FTS5 tables, `PRAGMA`) is chosen
//! by [`Dialect`] in the store that needs it, and each schema has its own migrations
//! per engine ([`crate::migrations::Schema`]).

use crate::migrations::{SqlValue, StorageError};

/// The SQL engine behind a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite files: the embedded default (Spin's `sqlite_databases`).
    Sqlite,
    /// PostgreSQL: the cluster profile (Spin's outbound PostgreSQL).
    Postgres,
}

/// `sql`, written for SQLite, as PostgreSQL reads it with `params` bound.
pub fn postgres(sql: &str, params: &[SqlValue]) -> String {
    // Each rewrite is skipped by a statement that cannot need it: this runs on every
    // statement of every request.
    let sql = if contains_ignoring_case(sql, "INDEXED") { drop_index_hints(sql) } else { sql.to_owned() };
    let sql = cast_json_argument(&sql, "json_each(", "json_array_elements_text(");
    let sql = cast_json_argument(&sql, "json_array_length(", "json_array_length(");
    number_placeholders(&sql, params)
}

fn contains_ignoring_case(haystack: &str, upper: &str) -> bool {
    haystack.as_bytes().windows(upper.len()).any(|w| w.eq_ignore_ascii_case(upper.as_bytes()))
}

/// The PostgreSQL cast for a placeholder bound to `value`, if it needs one.
fn cast(value: Option<&SqlValue>) -> &'static str {
    match value {
        Some(SqlValue::Integer(_)) => "::int8",
        Some(SqlValue::Real(_)) => "::float8",
        Some(SqlValue::Text(_)) => "::text",
        Some(SqlValue::Blob(_)) => "::bytea",
        Some(SqlValue::Null) | None => "",
    }
}

/// Walks `sql` outside quoted strings and identifiers, handing each other stretch to `f`.
fn outside_quotes(sql: &str, mut f: impl FnMut(&str, &mut String)) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut rest = sql;
    while !rest.is_empty() {
        let next_quote = rest.find(['\'', '"']);
        let (code, tail) = rest.split_at(next_quote.unwrap_or(rest.len()));
        f(code, &mut out);
        if tail.is_empty() {
            break;
        }
        let quote = tail.as_bytes()[0] as char;
        // A doubled quote inside a string is part of it: the closing quote is the first
        // one not followed by another.
        let mut end = 1;
        loop {
            match tail[end..].find(quote) {
                Some(i) if tail[end + i + 1..].starts_with(quote) => end += i + 2,
                Some(i) => {
                    end += i + 1;
                    break;
                }
                None => {
                    end = tail.len();
                    break;
                }
            }
        }
        out.push_str(&tail[..end]);
        rest = &tail[end..];
    }
    out
}

fn number_placeholders(sql: &str, params: &[SqlValue]) -> String {
    let mut next = 0usize;
    outside_quotes(sql, |code, out| {
        let mut chars = code.char_indices().peekable();
        while let Some((_, c)) = chars.next() {
            if c != '?' {
                out.push(c);
                continue;
            }
            let mut digits = String::new();
            while let Some(&(_, d)) = chars.peek().filter(|(_, d)| d.is_ascii_digit()) {
                digits.push(d);
                chars.next();
            }
            let n = if digits.is_empty() {
                next += 1;
                next
            } else {
                digits.parse().unwrap_or(0)
            };
            out.push('$');
            out.push_str(&n.to_string());
            out.push_str(cast(n.checked_sub(1).and_then(|i| params.get(i))));
        }
    })
}

fn drop_index_hints(sql: &str) -> String {
    outside_quotes(sql, |code, out| {
        let mut rest = code;
        while let Some(at) = find_keyword(rest, "INDEXED BY") {
            out.push_str(rest[..at].trim_end());
            let after = rest[at + "INDEXED BY".len()..].trim_start();
            let name_end = after.find(|c: char| !(c.is_alphanumeric() || c == '_')).unwrap_or(after.len());
            rest = &after[name_end..];
        }
        out.push_str(rest);
    })
}

/// Where `keyword` first stands as whole words in `code`, matched without regard to case.
fn find_keyword(code: &str, keyword: &str) -> Option<usize> {
    let upper = code.to_ascii_uppercase();
    let mut from = 0;
    while let Some(i) = upper[from..].find(keyword) {
        let at = from + i;
        let before = upper[..at].chars().next_back();
        let after = upper[at + keyword.len()..].chars().next();
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        if !word(before) && !word(after) {
            return Some(at);
        }
        from = at + keyword.len();
    }
    None
}

/// `name(arg)` becomes `replacement((arg)::json)`: SQLite's JSON functions take text,
/// PostgreSQL's take `json`.
fn cast_json_argument(sql: &str, name: &str, replacement: &str) -> String {
    let lower = sql.to_ascii_lowercase();
    if !lower.contains(name) {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len() + 16);
    let mut i = 0;
    while let Some(found) = lower[i..].find(name) {
        let at = i + found;
        let preceded_by_word = lower[..at].chars().next_back().is_some_and(|c| c.is_alphanumeric() || c == '_');
        out.push_str(&sql[i..at]);
        if preceded_by_word {
            out.push_str(&sql[at..at + name.len()]);
            i = at + name.len();
            continue;
        }
        let open = at + name.len();
        let mut depth = 1;
        let mut close = open;
        for (j, c) in sql[open..].char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                close = open + j;
                break;
            }
        }
        if depth != 0 {
            out.push_str(&sql[at..]);
            return out;
        }
        out.push_str(replacement);
        out.push('(');
        out.push_str(&sql[open..close]);
        out.push_str(")::json)");
        i = close + 1;
    }
    out.push_str(&sql[i..]);
    out
}

/// A PostgreSQL error, by its SQLSTATE, as stores see it: a lost race is a
/// [`StorageError::Conflict`] (retried by [`crate::Sql::transaction`]); a server going
/// away or refusing connections is [`StorageError::Unavailable`]; anything else keeps
/// its code and message, not the driver's whole debug dump.
pub fn postgres_error(sqlstate: &str, message: &str) -> StorageError {
    match sqlstate {
        // serialization_failure, deadlock_detected
        "40001" | "40P01" => StorageError::Conflict(format!("{sqlstate}: {message}")),
        // connection exceptions, insufficient resources (too many connections), operator
        // intervention (shutdown, crash), cannot connect now (starting up)
        s if s.starts_with("08") || s.starts_with("53") || s.starts_with("57P") => {
            StorageError::Unavailable(format!("{sqlstate}: {message}"))
        }
        _ => StorageError::Io(format!("{sqlstate}: {message}")),
    }
}

/// A `numeric` as text (`sum` and `avg` over integers give one) as the value SQLite
/// would have given: an integer when it has no fraction, a real otherwise.
pub fn decimal(text: &str) -> SqlValue {
    let integral = match text.split_once('.') {
        None => Some(text),
        Some((whole, fraction)) if fraction.bytes().all(|b| b == b'0') => Some(whole),
        Some(_) => None,
    };
    match integral.and_then(|whole| whole.parse::<i64>().ok()) {
        Some(i) => SqlValue::Integer(i),
        None => text.parse::<f64>().map_or_else(|_| SqlValue::Text(text.to_owned()), SqlValue::Real),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_and_typed_by_their_values() {
        let params = [SqlValue::Integer(1), SqlValue::Text("a".into()), SqlValue::Null];
        assert_eq!(
            postgres("SELECT ? WHERE a = ? AND b = ?", &params),
            "SELECT $1::int8 WHERE a = $2::text AND b = $3"
        );
        assert_eq!(
            postgres("WHERE a = ?2 OR b = ?1 OR c = ?2", &params),
            "WHERE a = $2::text OR b = $1::int8 OR c = $2::text"
        );
        assert_eq!(
            postgres("VALUES (?, ?)", &[SqlValue::Real(1.5), SqlValue::Blob(vec![1])]),
            "VALUES ($1::float8, $2::bytea)"
        );
    }

    #[test]
    fn quoted_text_is_left_alone() {
        let params = [SqlValue::Integer(1)];
        assert_eq!(postgres("SELECT 'why?', \"a?\" WHERE x = ?", &params), "SELECT 'why?', \"a?\" WHERE x = $1::int8");
        assert_eq!(postgres("SELECT 'it''s ?' , ?", &params), "SELECT 'it''s ?' , $1::int8");
        assert_eq!(postgres("SELECT 'INDEXED BY x'", &[]), "SELECT 'INDEXED BY x'");
    }

    #[test]
    fn decimals_read_as_sqlite_would_give_them() {
        assert_eq!(decimal("42"), SqlValue::Integer(42));
        assert_eq!(decimal("42.000"), SqlValue::Integer(42));
        assert_eq!(decimal("-3"), SqlValue::Integer(-3));
        assert_eq!(decimal("2.50"), SqlValue::Real(2.5));
        assert_eq!(decimal("100"), SqlValue::Integer(100));
    }

    #[test]
    fn errors_by_sqlstate() {
        assert!(matches!(postgres_error("40001", "could not serialize"), StorageError::Conflict(_)));
        assert!(matches!(postgres_error("57P01", "terminating connection"), StorageError::Unavailable(_)));
        assert_eq!(postgres_error("23505", "duplicate key"), StorageError::Io("23505: duplicate key".into()));
    }

    #[test]
    fn json_lists_and_index_hints() {
        let params = [SqlValue::Text("[1]".into())];
        assert_eq!(
            postgres("WHERE id IN (SELECT value FROM json_each(?1))", &params),
            "WHERE id IN (SELECT value FROM json_array_elements_text(($1::text)::json))"
        );
        assert_eq!(
            postgres("EXISTS (SELECT 1 FROM json_each(c.reopened_at) r WHERE json_array_length(?1) = 0)", &params),
            "EXISTS (SELECT 1 FROM json_array_elements_text((c.reopened_at)::json) r WHERE json_array_length(($1::text)::json) = 0)"
        );
        assert_eq!(
            postgres("FROM grids g INDEXED BY grids_code WHERE g.version = ?", &[SqlValue::Integer(2)]),
            "FROM grids g WHERE g.version = $1::int8"
        );
    }
}
