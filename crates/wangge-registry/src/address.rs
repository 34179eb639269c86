//! Hotline addresses are free text: resolve them against the standard address
//! dictionary exactly, then normalised, then fuzzily — and never guess silently.

use serde::{Deserialize, Serialize};
use wangge_core::migrations::{Sql, SqlValue, StorageError};

/// The form addresses are compared in: half-width, no spaces, no province or city
/// prefix, and "号", "号楼", "附近" folded away.
pub fn normalize(address: &str, city_names: &[String]) -> String {
    let mut s: String = address
        .chars()
        .map(|c| match c {
            '\u{3000}' => ' ',
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            _ => c,
        })
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_lowercase();
    if let Some(i) = s.find('省')
        && s[..i].chars().count() <= 3
    {
        s = s[i + '省'.len_utf8()..].to_owned();
    }
    for city in city_names {
        let short = city.strip_suffix('市').unwrap_or(city);
        if let Some(rest) =
            s.strip_prefix(city.as_str()).or_else(|| s.strip_prefix(short).filter(|_| !short.is_empty()))
        {
            s = rest.to_owned();
            break;
        }
    }
    s = s.replace("号楼", "号").replace("附近", "").replace('号', "");
    s.trim_end_matches(['.', ',', '，', '。', '-']).to_owned()
}

/// Dice similarity of character bigrams, 0 to 1.
pub fn similarity(a: &str, b: &str) -> f64 {
    let bigrams = |s: &str| {
        let chars: Vec<char> = s.chars().collect();
        let mut v: Vec<(char, char)> = chars.windows(2).map(|w| (w[0], w[1])).collect();
        v.sort_unstable();
        v
    };
    let (x, y) = (bigrams(a), bigrams(b));
    if x.is_empty() || y.is_empty() {
        return if a == b { 1.0 } else { 0.0 };
    }
    let (mut i, mut j, mut common) = (0, 0, 0);
    while i < x.len() && j < y.len() {
        match x[i].cmp(&y[j]) {
            std::cmp::Ordering::Equal => {
                common += 1;
                i += 1;
                j += 1;
            }
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
        }
    }
    2.0 * common as f64 / (x.len() + y.len()) as f64
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MatchKind {
    Exact,
    Normalized,
    Fuzzy,
    /// Several standard addresses fit about equally well, in different grids.
    Ambiguous,
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Candidate {
    pub address: String,
    pub grid_code: String,
    pub lng: f64,
    pub lat: f64,
    pub similarity: f64,
}

/// How an address resolved; also part of grid-lookup's `/internal/place` answer
/// ([`crate::api::PlaceAnswer`]), so it is read strictly as well.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Resolution {
    pub query: String,
    pub normalized: String,
    #[serde(rename = "match")]
    pub kind: MatchKind,
    pub confidence: f64,
    /// The chosen standard address, when one was chosen.
    #[serde(deserialize_with = "wangge_core::internal::present")]
    pub matched: Option<Candidate>,
    /// Up to five runners-up (or the contenders, when ambiguous).
    pub candidates: Vec<Candidate>,
}

impl Resolution {
    /// The resolution as a key bound to `prefix` may see it: a match in another region is
    /// no match, and candidates outside the prefix are dropped.
    pub fn within(mut self, prefix: &str) -> Resolution {
        self.candidates.retain(|c| c.grid_code.starts_with(prefix));
        if self.matched.as_ref().is_some_and(|m| !m.grid_code.starts_with(prefix)) {
            self.matched = None;
            self.kind = MatchKind::None;
            self.confidence = 0.0;
        }
        self
    }
}

/// Below this a fuzzy match is no match.
pub const MIN_FUZZY_SIMILARITY: f64 = 0.6;
/// Two fuzzy contenders in different grids closer than this are ambiguous.
pub const AMBIGUITY_MARGIN: f64 = 0.03;
const MAX_CANDIDATES: usize = 5;

fn candidates_from(rows: wangge_core::Rows, normalized_query: &str) -> Vec<(Candidate, String)> {
    rows.rows
        .into_iter()
        .map(|r| {
            let normalized = r[1].as_str().unwrap_or_default().to_owned();
            let real = |v: &SqlValue| match v {
                SqlValue::Real(f) => *f,
                SqlValue::Integer(i) => *i as f64,
                _ => 0.0,
            };
            (
                Candidate {
                    address: r[0].as_str().unwrap_or_default().to_owned(),
                    grid_code: r[2].as_str().unwrap_or_default().to_owned(),
                    lng: real(&r[3]),
                    lat: real(&r[4]),
                    similarity: similarity(normalized_query, &normalized),
                },
                normalized,
            )
        })
        .collect()
}

fn distinct_grids(cs: &[Candidate]) -> usize {
    let mut grids: Vec<&str> = cs.iter().map(|c| c.grid_code.as_str()).collect();
    grids.sort_unstable();
    grids.dedup();
    grids.len()
}

/// Resolves `query` against version `version` of the address dictionary: exact, then
/// normalised, then fuzzy.
pub fn resolve(db: &impl Sql, version: i64, query: &str, city_names: &[String]) -> Result<Resolution, StorageError> {
    let query = query.trim();
    let normalized = normalize(query, city_names);
    let mut resolution = Resolution {
        query: query.to_owned(),
        normalized: normalized.clone(),
        kind: MatchKind::None,
        confidence: 0.0,
        matched: None,
        candidates: Vec::new(),
    };
    if exact_or_normalized(db, version, &mut resolution)? {
        return Ok(resolution);
    }
    // A query shorter than a trigram finds nothing fuzzily.
    if normalized.chars().count() < 3 {
        return Ok(resolution);
    }
    let scored = trigram_candidates(db, version, &normalized)?;
    fuzzy(&mut resolution, scored);
    Ok(resolution)
}

const COLUMNS: &str = "address, normalized, grid_code, lng, lat";

/// Exact (confidence 1.0), then normalised (0.95): whether either found anything.
fn exact_or_normalized(db: &impl Sql, version: i64, resolution: &mut Resolution) -> Result<bool, StorageError> {
    let (query, normalized) = (resolution.query.clone(), resolution.normalized.clone());
    let exact = candidates_from(
        db.execute(
            &format!("SELECT {COLUMNS} FROM addresses WHERE version = ? AND address = ? LIMIT 10"),
            &[version.into(), query.into()],
        )?,
        &normalized,
    );
    let normal = if exact.is_empty() && !normalized.is_empty() {
        candidates_from(
            db.execute(
                &format!("SELECT {COLUMNS} FROM addresses WHERE version = ? AND normalized = ? LIMIT 10"),
                &[version.into(), normalized.as_str().into()],
            )?,
            &normalized,
        )
    } else {
        Vec::new()
    };
    for (kind, found, confidence) in [(MatchKind::Exact, exact, 1.0), (MatchKind::Normalized, normal, 0.95)] {
        if !found.is_empty() {
            settle(resolution, kind, confidence, found.into_iter().map(|(c, _)| c).collect());
            return Ok(true);
        }
    }
    Ok(false)
}

/// Matches in one grid are a match of `kind`; matches in several are ambiguous.
fn settle(resolution: &mut Resolution, kind: MatchKind, confidence: f64, found: Vec<Candidate>) {
    if distinct_grids(&found) == 1 {
        resolution.kind = kind;
        resolution.confidence = confidence;
        resolution.matched = found.into_iter().next();
    } else {
        resolution.kind = MatchKind::Ambiguous;
        resolution.candidates = found.into_iter().take(MAX_CANDIDATES).collect();
    }
}

/// Standard addresses sharing a character trigram with the normalised query
/// ([`crate::index::addresses_sharing_trigrams`]), each scored and with its normalised form.
fn trigram_candidates(db: &impl Sql, version: i64, normalized: &str) -> Result<Vec<(Candidate, String)>, StorageError> {
    let columns = "a.address, a.normalized, a.grid_code, a.lng, a.lat";
    let rows = crate::index::addresses_sharing_trigrams(db, version, normalized, columns)?;
    Ok(candidates_from(rows, normalized))
}

/// Fuzzy, tried last: a standard address that ends with the whole query (district or town left
/// out) counts as normalised (0.9); else the best bigram similarity, if high enough and
/// not contested by another grid.
fn fuzzy(resolution: &mut Resolution, mut scored: Vec<(Candidate, String)>) {
    let normalized = &resolution.normalized;
    let long_enough = normalized.chars().count() >= 6;
    let suffix: Vec<Candidate> = scored
        .iter()
        .filter(|(_, n)| long_enough && n.ends_with(normalized.as_str()))
        .map(|(c, _)| c.clone())
        .collect();
    if !suffix.is_empty() {
        settle(resolution, MatchKind::Normalized, 0.9, suffix);
        return;
    }
    scored.sort_by(|a, b| b.0.similarity.total_cmp(&a.0.similarity).then_with(|| a.0.address.cmp(&b.0.address)));
    let mut ranked: Vec<Candidate> = scored.into_iter().map(|(c, _)| c).collect();
    ranked.truncate(MAX_CANDIDATES + 1);
    let Some(best) = ranked.first().cloned() else { return };
    if best.similarity < MIN_FUZZY_SIMILARITY {
        resolution.candidates = ranked.into_iter().take(MAX_CANDIDATES).collect();
        return;
    }
    let contenders: Vec<Candidate> =
        ranked.iter().filter(|c| best.similarity - c.similarity < AMBIGUITY_MARGIN).cloned().collect();
    if distinct_grids(&contenders) > 1 {
        resolution.kind = MatchKind::Ambiguous;
        resolution.candidates = contenders.into_iter().take(MAX_CANDIDATES).collect();
        return;
    }
    resolution.kind = MatchKind::Fuzzy;
    resolution.confidence = (best.similarity * 0.9 * 1000.0).round() / 1000.0;
    resolution.candidates = ranked.into_iter().skip(1).take(MAX_CANDIDATES).collect();
    resolution.matched = Some(best);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cities() -> Vec<String> {
        vec!["南通市".to_owned()]
    }

    #[test]
    fn normalises_prefixes_widths_and_suffixes() {
        let n = |s: &str| normalize(s, &cities());
        assert_eq!(n("江苏省南通市崇川区新江街道建设街24号"), "崇川区新江街道建设街24");
        assert_eq!(n("南通崇川区新江街道建设街２４号楼附近"), "崇川区新江街道建设街24");
        assert_eq!(n(" 崇川区 新江街道　建设街24号 "), "崇川区新江街道建设街24");
        assert_eq!(n("江苏省南通市如皋市华山镇建设路220号"), "如皋市华山镇建设路220", "a county-level city stays");
    }

    #[test]
    fn similarity_is_dice_on_bigrams() {
        assert_eq!(similarity("建设街24", "建设街24"), 1.0);
        assert!(similarity("建设街24", "建设街25") > 0.7);
        assert!(similarity("建设街24", "人民路9") < 0.2);
    }
}
