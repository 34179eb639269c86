//! The model's binary format (模型文件格式), version 1. All integers little-endian.
//!
//! ```text
//! magic            8 bytes  b"WGTRIAGE"
//! format version   u32      1
//! header length    u32      bytes of the header that follows
//! header:
//!   version        u16 length + UTF-8 (e.g. "embedded-3f2a9c1b")
//!   training size  u64      examples trained on
//!   held-out acc.  f64      top-1 accuracy on data/triage/heldout.jsonl (NaN: not measured)
//!   temperature    f32      softmax temperature of the confidence
//!   scale          f32      a weight is its i16 times this
//!   n-gram min/max u8, u8
//!   max chars      u32      characters of a text read
//!   classes        u16 count, then per class a u8 length + UTF-8 code ("A01")
//!   features       u32      count F
//!   entries        u32      count E
//! body:
//!   hashes         F × u32  strictly increasing feature hashes
//!   offsets        (F+1) × u32, from 0 to E, non-decreasing: feature i owns entries offsets[i]..offsets[i+1]
//!   classes        E × u8   class index of each entry
//!   weights        E × i16  weight of each entry (times scale)
//! checksum         u64      `checksum` of every byte before it
//! ```
//!
//! Shared with `build.rs` (included there with `#[path]`), so it depends on nothing.

/// The first eight bytes of every model.
pub const MAGIC: &[u8; 8] = b"WGTRIAGE";
/// The format version this crate writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// Everything a model file holds, in the owned form the trainer produces.
#[derive(Debug, Clone, PartialEq)]
pub struct Parts {
    pub version: String,
    pub training_size: u64,
    pub heldout_accuracy: f64,
    pub temperature: f32,
    pub scale: f32,
    pub ngram_min: u8,
    pub ngram_max: u8,
    pub max_chars: u32,
    pub categories: Vec<String>,
    /// Per feature, in increasing hash order: its hash and its (class, quantised weight) entries.
    pub features: Vec<(u32, Vec<(u8, i16)>)>,
}

/// A fast 64-bit hash read a word (8 bytes) at a time, with the length folded in: not
/// cryptographic, it catches corruption (a flipped bit or byte, a truncation), not forgery.
pub fn checksum(bytes: &[u8]) -> u64 {
    const K: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ (bytes.len() as u64).wrapping_mul(K);
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let w = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        h = (h.rotate_left(23) ^ w).wrapping_mul(K);
    }
    let mut tail = [0u8; 8];
    tail[..words.remainder().len()].copy_from_slice(words.remainder());
    h = (h.rotate_left(23) ^ u64::from_le_bytes(tail)).wrapping_mul(K);
    h ^= h >> 29;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^ (h >> 32)
}

/// The model file of `parts`, checksum included.
pub fn encode(parts: &Parts) -> Vec<u8> {
    let mut header = Vec::new();
    let version = &parts.version.as_bytes()[..parts.version.len().min(u16::MAX as usize)];
    header.extend_from_slice(&(version.len() as u16).to_le_bytes());
    header.extend_from_slice(version);
    header.extend_from_slice(&parts.training_size.to_le_bytes());
    header.extend_from_slice(&parts.heldout_accuracy.to_le_bytes());
    header.extend_from_slice(&parts.temperature.to_le_bytes());
    header.extend_from_slice(&parts.scale.to_le_bytes());
    header.push(parts.ngram_min);
    header.push(parts.ngram_max);
    header.extend_from_slice(&parts.max_chars.to_le_bytes());
    header.extend_from_slice(&(parts.categories.len() as u16).to_le_bytes());
    for code in &parts.categories {
        let code = &code.as_bytes()[..code.len().min(255)];
        header.push(code.len() as u8);
        header.extend_from_slice(code);
    }
    let entries: usize = parts.features.iter().map(|(_, e)| e.len()).sum();
    header.extend_from_slice(&(parts.features.len() as u32).to_le_bytes());
    header.extend_from_slice(&(entries as u32).to_le_bytes());

    let mut out = Vec::with_capacity(16 + header.len() + parts.features.len() * 8 + entries * 3 + 12);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(header.len() as u32).to_le_bytes());
    out.extend_from_slice(&header);
    for (hash, _) in &parts.features {
        out.extend_from_slice(&hash.to_le_bytes());
    }
    let mut offset = 0u32;
    out.extend_from_slice(&offset.to_le_bytes());
    for (_, e) in &parts.features {
        offset += e.len() as u32;
        out.extend_from_slice(&offset.to_le_bytes());
    }
    for (_, e) in &parts.features {
        out.extend(e.iter().map(|&(class, _)| class));
    }
    for (_, e) in &parts.features {
        for &(_, w) in e {
            out.extend_from_slice(&w.to_le_bytes());
        }
    }
    let sum = checksum(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}
