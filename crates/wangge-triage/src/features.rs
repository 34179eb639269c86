//! Features (特征) of a work order's text: hashed character n-grams.
//!
//! Shared with `build.rs` (included there with `#[path]`), so it depends on nothing.

/// Only the first this many characters of a text are read; the rest is ignored, so a
/// 100 KB text costs no more than a 2,000-character one.
pub const MAX_CHARS: usize = 2000;
/// Shortest n-gram, in characters.
pub const NGRAM_MIN: u8 = 1;
/// Longest n-gram, in characters (3 was tried: a model twice the size; by 10-fold CV on the
/// corpus at 1,968 lines top-1 82.0% against 83.3%, at 4,231 lines 92.4% against 93.2% and
/// placed right 81.4% against 84.6%).
pub const NGRAM_MAX: u8 = 2;
/// The bias feature, present in every text.
pub const BIAS: u32 = 0x9e37_79b9;

/// The separator that stands for punctuation, spaces and the text's two ends.
const GAP: char = '|';

/// The text as the n-grams see it: at most `max_chars` characters; full-width ASCII folded
/// to half-width, Latin letters lower-cased, every digit read as `0`, runs of punctuation and
/// spaces read as one gap, and a gap at both ends.
pub fn normalize(text: &str, max_chars: usize) -> Vec<char> {
    let mut out = Vec::with_capacity(text.len().min(max_chars * 4) / 3 + 2);
    out.push(GAP);
    for ch in text.chars().take(max_chars) {
        let ch = match ch as u32 {
            0xFF01..=0xFF5E => char::from_u32(ch as u32 - 0xFEE0).unwrap_or(ch),
            0x3000 => ' ',
            _ => ch,
        };
        let ch = if ch.is_numeric() {
            '0'
        } else if ch.is_alphabetic() {
            ch.to_ascii_lowercase()
        } else {
            GAP
        };
        if ch == GAP && out.last() == Some(&GAP) {
            continue;
        }
        out.push(ch);
    }
    if out.last() != Some(&GAP) {
        out.push(GAP);
    }
    out
}

/// The n-gram's hash: FNV-1a over its length and its characters' code points.
fn hash_ngram(gram: &[char]) -> u32 {
    let mut h: u32 = 0x811c_9dc5 ^ gram.len() as u32;
    h = h.wrapping_mul(0x0100_0193);
    for &c in gram {
        for b in (c as u32).to_le_bytes() {
            h ^= b as u32;
            h = h.wrapping_mul(0x0100_0193);
        }
    }
    h
}

/// The sorted, distinct feature hashes of a text: its `min..=max` character n-grams (a lone
/// gap is no feature) and the bias.
pub fn features(text: &str, min: u8, max: u8, max_chars: usize) -> Vec<u32> {
    let chars = normalize(text, max_chars);
    let mut out = Vec::with_capacity(chars.len() * (max - min + 1) as usize + 1);
    out.push(BIAS);
    for n in min.max(1) as usize..=max as usize {
        for gram in chars.windows(n) {
            if n == 1 && gram[0] == GAP {
                continue;
            }
            out.push(hash_ngram(gram));
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}
