//! Region codes (统计用区划代码): twelve digits, the city in the first four, the district
//! in six, the town (街道/乡镇) in nine, the community in all twelve. A code's parents
//! are its prefixes filled with zeros.

/// The town of a community (`320613001001` → `320613001000`).
pub fn town_of(code: &str) -> String {
    prefix_of(code, 9)
}

/// The district of a town or community (`320613001001` → `320613000000`).
pub fn district_of(code: &str) -> String {
    prefix_of(code, 6)
}

/// The city of any code below it (`320613001001` → `320600000000`).
pub fn city_of(code: &str) -> String {
    prefix_of(code, 4)
}

/// `code`'s first `keep` digits filled to twelve with zeros; a code that is not twelve
/// characters long is its own parent.
fn prefix_of(code: &str, keep: usize) -> String {
    match code.get(..keep) {
        Some(prefix) if code.len() == 12 => format!("{prefix:0<12}"),
        _ => code.to_owned(),
    }
}

/// The digits that name a region, without the zeros that fill it to twelve: the city's
/// four (`320600000000` → `3206`), a district's six, a town's nine; a community's or a
/// grid's code is all significant.
pub fn significant(code: &str) -> &str {
    let trimmed = code.trim_end_matches('0');
    let keep = match trimmed.len() {
        0..=2 => 2,
        3..=4 => 4,
        5..=6 => 6,
        7..=9 => 9,
        _ => code.len(),
    };
    &code[..keep.min(code.len())]
}

/// Whether `code` is `prefix`'s own region or one that contains it (a parent, the city):
/// what a key bound to `prefix` may see named as a parent.
pub fn is_ancestor_of(code: &str, prefix: &str) -> bool {
    code.len() == 12 && code.bytes().all(|b| b.is_ascii_digit()) && prefix.starts_with(significant(code))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn significant_digits_and_ancestors() {
        assert_eq!(significant("320600000000"), "3206");
        assert_eq!(significant("320613000000"), "320613");
        assert_eq!(significant("320613001000"), "320613001");
        assert_eq!(significant("320613001001"), "320613001001");
        assert_eq!(significant("320610000000"), "320610", "a district code ending in 0 keeps six");
        assert!(is_ancestor_of("320600000000", "320612"));
        assert!(is_ancestor_of("320612000000", "320612001"));
        assert!(!is_ancestor_of("320613000000", "320612"));
        assert!(!is_ancestor_of("320612001000", "320612"), "a child, not a parent");
        assert!(!is_ancestor_of("320610000000", "320612"));
    }

    #[test]
    fn parents_are_prefixes_filled_with_zeros() {
        assert_eq!(town_of("320613001001"), "320613001000");
        assert_eq!(district_of("320613001001"), "320613000000");
        assert_eq!(district_of("320613001000"), "320613000000");
        assert_eq!(city_of("320613001001"), "320600000000");
        assert_eq!(town_of("3206"), "3206", "not a full code: its own parent");
    }
}
