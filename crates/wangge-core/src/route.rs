//! Route tables: one declarative table per function, from which both dispatch and the
//! 404 and 405 answers are derived (as in the Spin SDK's `http_router!`).
//!
//! A table is rows of (method, pattern, handler). A pattern is `/`-separated segments:
//! - a literal (`cases`);
//! - a parameter, `{id}`, which takes one segment; it may carry literal text around
//!   it, as in `{code}.{format}` or `services.{format}` (then it takes what lies
//!   between);
//! - a rest parameter, `{rest...}`, last, which takes every remaining segment (none
//!   included).
//!
//! Of the patterns that match a path, only the most specific count (segment by
//! segment, a literal beats a parameter with literal text, which beats a bare
//! parameter, which beats a rest). Among those, the row with the request's method
//! answers; if none has it, the answer is 405 with the methods that do; if no pattern
//! matches, 404. A row whose method is `ANY` takes every method.
//!
//! The handler type is the caller's: this module knows nothing of HTTP libraries, so
//! it is tested natively.

/// One row of a route table.
#[derive(Debug)]
pub struct Row<H: 'static> {
    /// `GET`, `POST`, `PUT`, `DELETE`, `PATCH`, or `ANY`.
    pub method: &'static str,
    pub pattern: &'static str,
    pub handler: H,
}

/// A function's routes, and the tables mounted under its `ANY …/{rest...}` rows (listed
/// for documentation: the mounted handler dispatches through its own table).
#[derive(Debug)]
pub struct Table<H: 'static> {
    pub rows: &'static [Row<H>],
    pub mounted: &'static [&'static Table<H>],
}

/// What a path's parameters took, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(Vec<(&'static str, String)>);

impl Params {
    /// A parameter's value; empty when the pattern has no such parameter.
    pub fn get(&self, name: &str) -> &str {
        self.0.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str()).unwrap_or("")
    }
}

/// Where a request goes.
#[derive(Debug)]
pub enum Found<'t, H: 'static> {
    /// The row that answers, and what the path's parameters took.
    Route(&'t Row<H>, Params),
    /// The path is served, but not with this method: these methods are allowed.
    MethodNotAllowed(String),
    /// No pattern matches the path.
    NotFound,
}

/// How specific one pattern segment is (higher wins).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// `{rest...}`
    Rest,
    /// `{id}`
    Param,
    /// `{code}.{format}`, `services.{format}`
    Affixed,
    /// `cases`
    Literal,
}

fn kind(segment: &str) -> Kind {
    match segment.find('{') {
        None => Kind::Literal,
        Some(_) if segment.ends_with("...}") => Kind::Rest,
        Some(0) if segment.ends_with('}') && segment.matches('{').count() == 1 => Kind::Param,
        Some(_) => Kind::Affixed,
    }
}

/// Matches one segment pattern against one path segment, pushing what its parameters
/// took. `{a}.{b}` splits at the last `.`.
fn segment_matches(pattern: &'static str, segment: &str, params: &mut Vec<(&'static str, String)>) -> bool {
    let mut rest = segment;
    let mut pieces = pattern.split('{').peekable();
    // Text before the first parameter.
    let head = pieces.next().unwrap_or("");
    let Some(after_head) = rest.strip_prefix(head) else { return false };
    rest = after_head;
    if pieces.peek().is_none() {
        return rest.is_empty();
    }
    while let Some(piece) = pieces.next() {
        let Some((name, literal)) = piece.split_once('}') else { return false };
        let value = if pieces.peek().is_none() {
            // The last parameter: everything up to the trailing literal.
            let Some(value) = rest.strip_suffix(literal) else { return false };
            rest = "";
            value
        } else {
            // A parameter followed by a literal and another parameter: up to the literal's
            // last occurrence.
            let Some(at) = rest.rfind(literal).filter(|_| !literal.is_empty()) else { return false };
            let value = &rest[..at];
            rest = &rest[at + literal.len()..];
            value
        };
        if value.is_empty() {
            return false;
        }
        params.push((name, value.to_owned()));
    }
    rest.is_empty()
}

/// The path's segments, without empty ones: `/v1/keys/x` is `["v1", "keys", "x"]`.
fn segments(path: &str) -> Vec<&str> {
    path.split('/').filter(|s| !s.is_empty()).collect()
}

/// Matches a whole pattern against a path: the parameters, and the pattern's
/// specificity, or `None`.
fn pattern_matches(pattern: &'static str, path: &[&str]) -> Option<(Vec<Kind>, Params)> {
    let mut params = Vec::new();
    let mut kinds = Vec::new();
    let parts = segments(pattern);
    for (i, part) in parts.iter().enumerate() {
        let k = kind(part);
        kinds.push(k);
        if k == Kind::Rest {
            let name = part.trim_start_matches('{').trim_end_matches("...}");
            params.push((name, path.get(i..).unwrap_or_default().join("/")));
            return (i == parts.len() - 1).then_some((kinds, Params(params)));
        }
        let segment = path.get(i)?;
        if !segment_matches(part, segment, &mut params) {
            return None;
        }
    }
    (parts.len() == path.len()).then_some((kinds, Params(params)))
}

impl<H> Table<H> {
    /// Where `method path` goes.
    pub fn find(&self, method: &str, path: &str) -> Found<'_, H> {
        let path = segments(path);
        let mut best: Option<Vec<Kind>> = None;
        let mut candidates: Vec<(&Row<H>, Params)> = Vec::new();
        for row in self.rows {
            let Some((specificity, params)) = pattern_matches(row.pattern, &path) else { continue };
            match best.as_ref().map(|b| specificity.cmp(b)) {
                Some(std::cmp::Ordering::Less) => continue,
                Some(std::cmp::Ordering::Greater) | None => {
                    best = Some(specificity);
                    candidates.clear();
                }
                Some(std::cmp::Ordering::Equal) => {}
            }
            candidates.push((row, params));
        }
        if candidates.is_empty() {
            return Found::NotFound;
        }
        if let Some(at) = candidates.iter().position(|(row, _)| row.method == method || row.method == "ANY") {
            let (row, params) = candidates.swap_remove(at);
            return Found::Route(row, params);
        }
        let mut allow: Vec<&str> = Vec::new();
        for (row, _) in &candidates {
            if !allow.contains(&row.method) {
                allow.push(row.method);
            }
        }
        Found::MethodNotAllowed(allow.join(", "))
    }

    /// Every (method, pattern) this table and the tables mounted under it serve, `ANY`
    /// rows that mount a table left out.
    pub fn listing(&self) -> Vec<(&'static str, &'static str)> {
        let mut out: Vec<(&'static str, &'static str)> =
            self.rows.iter().filter(|r| r.method != "ANY").map(|r| (r.method, r.pattern)).collect();
        for table in self.mounted {
            out.extend(table.listing());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static ROWS: &[Row<u8>] = &[
        Row { method: "POST", pattern: "/v1/events", handler: 1 },
        Row { method: "POST", pattern: "/v1/events/retry-pending", handler: 2 },
        Row { method: "GET", pattern: "/v1/events/{id}", handler: 3 },
        Row { method: "GET", pattern: "/v1/assessments/{period}/grids/{code}", handler: 4 },
        Row { method: "ANY", pattern: "/open311/v2/{rest...}", handler: 5 },
        Row { method: "GET", pattern: "/v1/cases/{id}", handler: 6 },
        Row { method: "DELETE", pattern: "/v1/cases/{id}", handler: 7 },
    ];
    static TABLE: Table<u8> = Table { rows: ROWS, mounted: &[&OPEN311] };
    static OPEN311: Table<u8> = Table {
        rows: &[
            Row { method: "GET", pattern: "/open311/v2/services.{format}", handler: 10 },
            Row { method: "GET", pattern: "/open311/v2/services/{code}.{format}", handler: 11 },
            Row { method: "POST", pattern: "/open311/v2/requests.{format}", handler: 12 },
        ],
        mounted: &[],
    };

    /// What a lookup found, in words: the handler, `405 <allow>` or `404`.
    fn outcome(found: Found<'_, u8>) -> String {
        match found {
            Found::Route(row, _) => row.handler.to_string(),
            Found::MethodNotAllowed(allow) => format!("405 {allow}"),
            Found::NotFound => "404".to_owned(),
        }
    }

    fn handler(found: Found<'_, u8>) -> Option<(u8, Params)> {
        match found {
            Found::Route(row, params) => Some((row.handler, params)),
            _ => None,
        }
    }

    #[test]
    fn the_most_specific_pattern_answers() {
        assert_eq!(handler(TABLE.find("POST", "/v1/events")).unwrap().0, 1);
        assert_eq!(handler(TABLE.find("POST", "/v1/events/retry-pending")).unwrap().0, 2);
        let (h, p) = handler(TABLE.find("GET", "/v1/events/e-1")).unwrap();
        assert_eq!((h, p.get("id")), (3, "e-1"));
        let (h, p) = handler(TABLE.find("GET", "/v1/assessments/2026-11/grids/320613001001001")).unwrap();
        assert_eq!((h, p.get("period"), p.get("code")), (4, "2026-11", "320613001001001"));
        let (h, p) = handler(TABLE.find("PATCH", "/open311/v2/requests/x.json")).unwrap();
        assert_eq!((h, p.get("rest")), (5, "requests/x.json"));
        assert_eq!(handler(TABLE.find("GET", "/open311/v2")).unwrap().1.get("rest"), "");
    }

    #[test]
    fn a_literal_shadows_a_parameter_and_405_lists_the_methods_of_the_path() {
        // GET retry-pending is not the event `retry-pending`: the literal route owns the path.
        assert_eq!(outcome(TABLE.find("GET", "/v1/events/retry-pending")), "405 POST");
        assert_eq!(outcome(TABLE.find("PUT", "/v1/cases/c-1")), "405 GET, DELETE");
        assert_eq!(outcome(TABLE.find("GET", "/v1/nothing")), "404");
        assert_eq!(outcome(TABLE.find("GET", "/v1/events/a/b")), "404");
    }

    #[test]
    fn parameters_with_literal_text_around_them() {
        let (h, p) = handler(OPEN311.find("GET", "/open311/v2/services.json")).unwrap();
        assert_eq!((h, p.get("format")), (10, "json"));
        let (h, p) = handler(OPEN311.find("GET", "/open311/v2/services/B05.xml")).unwrap();
        assert_eq!((h, p.get("code"), p.get("format")), (11, "B05", "xml"));
        let (_, p) = handler(OPEN311.find("GET", "/open311/v2/services/a.b.json")).unwrap();
        assert_eq!((p.get("code"), p.get("format")), ("a.b", "json"), "splits at the last dot");
        assert_eq!(outcome(OPEN311.find("GET", "/open311/v2/services")), "404");
        assert_eq!(outcome(OPEN311.find("GET", "/open311/v2/services/.json")), "404", "an empty code");
    }

    #[test]
    fn the_listing_includes_mounted_tables_and_leaves_out_mounts() {
        let listing = TABLE.listing();
        assert!(listing.contains(&("GET", "/v1/events/{id}")));
        assert!(listing.contains(&("POST", "/open311/v2/requests.{format}")));
        assert!(!listing.iter().any(|(m, _)| *m == "ANY"));
        // 7 rows less the one ANY, plus OPEN311's 3.
        assert_eq!(listing.len(), 6 + 3);
    }
}
