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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parents_are_prefixes_filled_with_zeros() {
        assert_eq!(town_of("320613001001"), "320613001000");
        assert_eq!(district_of("320613001001"), "320613000000");
        assert_eq!(district_of("320613001000"), "320613000000");
        assert_eq!(city_of("320613001001"), "320600000000");
        assert_eq!(town_of("3206"), "3206", "not a full code: its own parent");
    }
}
