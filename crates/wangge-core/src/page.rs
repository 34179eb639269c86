//! Lists: `limit` (default 50, at most 500) and an opaque `cursor`; keyset only.

use crate::{ErrorCode, Problem};

pub const DEFAULT_LIMIT: usize = 50;
pub const MAX_LIMIT: usize = 500;

/// Where a page starts and how long it is.
#[derive(Debug, Clone, PartialEq)]
pub struct PageRequest {
    pub limit: usize,
    /// The sort key of the last item of the previous page.
    pub after: Option<String>,
}

/// The `limit` query parameter: `default` when absent, else a whole number from 1 to
/// `max`, or 400 `invalid_parameter`. Lists and bounded batches (a sweep, a dispatch,
/// a retry pass) read it alike.
pub fn limit(query: &str, default: usize, max: usize) -> Result<usize, Problem> {
    match crate::query::param(query, "limit") {
        None => Ok(default),
        Some(raw) => raw.parse::<usize>().ok().filter(|n| (1..=max).contains(n)).ok_or_else(|| {
            Problem::invalid_parameter(
                "limit",
                format!("limit must be a whole number from 1 to {max}"),
                format!("limit 应为 1 到 {max} 之间的整数"),
            )
        }),
    }
}

impl PageRequest {
    /// From the `limit` and `cursor` query parameters.
    pub fn from_query(query: &str) -> Result<PageRequest, Problem> {
        let limit = limit(query, DEFAULT_LIMIT, MAX_LIMIT)?;
        let after = match crate::query::param(query, "cursor").filter(|c| !c.is_empty()) {
            None => None,
            Some(cursor) => Some(decode_cursor(&cursor).ok_or_else(|| {
                Problem::new(ErrorCode::InvalidParameter)
                    .with_detail("cursor is not one this API gave out", "cursor 无效")
                    .with_extension("parameter", "cursor")
            })?),
        };
        Ok(PageRequest { limit, after })
    }
}

/// Ends a page read with one item more than it holds (`limit + 1`): keeps `limit`
/// items and answers the cursor after the last one kept, or `None` when none follows.
pub fn next_cursor<T>(items: &mut Vec<T>, limit: usize, key: impl Fn(&T) -> Option<&str>) -> Option<String> {
    if items.len() <= limit {
        return None;
    }
    items.truncate(limit);
    items.last().and_then(key).map(encode_cursor)
}

/// The cursor for a page that ended at `key`.
pub fn encode_cursor(key: &str) -> String {
    hex::encode(key.as_bytes())
}

/// The key a cursor from [`encode_cursor`] stands for.
pub fn decode_cursor(cursor: &str) -> Option<String> {
    String::from_utf8(hex::decode(cursor).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_cursors() {
        assert_eq!(PageRequest::from_query("").unwrap(), PageRequest { limit: 50, after: None });
        let cursor = encode_cursor("0192-abc");
        let p = PageRequest::from_query(&format!("limit=500&cursor={cursor}")).unwrap();
        assert_eq!((p.limit, p.after.as_deref()), (500, Some("0192-abc")));
        for bad in ["limit=0", "limit=501", "limit=x", "cursor=zz"] {
            assert_eq!(PageRequest::from_query(bad).unwrap_err().code, ErrorCode::InvalidParameter, "{bad}");
        }
    }
}
