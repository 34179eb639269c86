//! Personal data as others see it: one place for masking.

/// `13800000001` shown as `138****0001`.
pub fn mask_phone(phone: &str) -> String {
    let chars: Vec<char> = phone.chars().collect();
    if chars.len() < 7 {
        return "*".repeat(chars.len());
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

/// `张三丰` shown as `张**`.
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    chars.next().map(|first| format!("{first}{}", "*".repeat(chars.count()))).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        assert_eq!(mask_phone("13800000001"), "138****0001");
        assert_eq!(mask_phone("12345"), "*****");
        assert_eq!(mask_name("张三丰"), "张**");
        assert_eq!(mask_name(""), "");
    }
}

/// A reporter's personal data (name, phone, WeChat openid): kept in its own table by
/// every function that holds it, so that masking and erasure are one place each.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Reporter {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub wechat_openid: Option<String>,
}
