//! A model read in place over its bytes (零拷贝加载): loading checks the bytes and takes
//! slices, it builds no map; scoring binary-searches the feature hashes in the bytes.
//!
//! Shared with `build.rs` (included there with `#[path]`), so it depends on nothing.

use crate::format::{FORMAT_VERSION, MAGIC, checksum};

/// Why bytes are not a model: every way `Model::from_bytes` refuses them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelError {
    /// The bytes do not start with the magic `WGTRIAGE`.
    BadMagic,
    /// The format version is not one this crate reads.
    UnsupportedFormat(u32),
    /// The bytes end before the header, the body or the checksum does.
    Truncated,
    /// There are bytes after the checksum.
    TrailingBytes,
    /// The checksum does not match the bytes: they were changed after they were written.
    ChecksumMismatch,
    /// A header field is out of range (named here): bad UTF-8, no classes, a zero n-gram…
    BadHeader(&'static str),
    /// The per-feature offsets do not run from 0 to the entry count without going back.
    BadOffsets,
    /// The feature hashes are not strictly increasing, so binary search would miss.
    UnsortedFeatures,
    /// An entry names a class the header does not list.
    BadClass,
}

impl std::fmt::Display for ModelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ModelError::BadMagic => write!(f, "not a triage model (bad magic)"),
            ModelError::UnsupportedFormat(v) => write!(f, "unsupported triage model format {v}"),
            ModelError::Truncated => write!(f, "triage model is truncated"),
            ModelError::TrailingBytes => write!(f, "triage model has bytes after its checksum"),
            ModelError::ChecksumMismatch => write!(f, "triage model checksum mismatch"),
            ModelError::BadHeader(field) => write!(f, "triage model header field out of range: {field}"),
            ModelError::BadOffsets => write!(f, "triage model feature offsets are inconsistent"),
            ModelError::UnsortedFeatures => write!(f, "triage model feature hashes are not sorted"),
            ModelError::BadClass => write!(f, "triage model entry names an unknown class"),
        }
    }
}

impl std::error::Error for ModelError {}

/// A trained classifier borrowed over its bytes (see `format` for the layout).
#[derive(Debug, Clone)]
pub struct Model<'a> {
    bytes: &'a [u8],
    version: &'a str,
    training_size: u64,
    heldout_accuracy: f64,
    temperature: f32,
    scale: f32,
    ngram_min: u8,
    ngram_max: u8,
    max_chars: u32,
    categories: Vec<&'a str>,
    hashes: &'a [u8],
    offsets: &'a [u8],
    classes: &'a [u8],
    weights: &'a [u8],
}

/// A little-endian reader over a byte slice that fails with `Truncated`.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ModelError> {
        let end = self.at.checked_add(n).ok_or(ModelError::Truncated)?;
        let s = self.bytes.get(self.at..end).ok_or(ModelError::Truncated)?;
        self.at = end;
        Ok(s)
    }
    fn array<const N: usize>(&mut self) -> Result<[u8; N], ModelError> {
        Ok(self.take(N)?.try_into().expect("N bytes"))
    }
    fn u8(&mut self) -> Result<u8, ModelError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, ModelError> {
        Ok(u16::from_le_bytes(self.array()?))
    }
    fn u32(&mut self) -> Result<u32, ModelError> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> Result<u64, ModelError> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    fn str(&mut self, n: usize, field: &'static str) -> Result<&'a str, ModelError> {
        std::str::from_utf8(self.take(n)?).map_err(|_| ModelError::BadHeader(field))
    }
}

/// How much of a model [`Model::read`] checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Checks {
    /// Everything: the checksum, the header, the sections' bounds, offsets, hash order, classes.
    All,
    /// The header and the sections' bounds: for the build's own bytes, checked when embedded.
    Bounds,
}

fn u32_at(bytes: &[u8], i: usize) -> u32 {
    u32::from_le_bytes(bytes[i * 4..i * 4 + 4].try_into().expect("4 bytes"))
}

impl<'a> Model<'a> {
    /// Reads a model over `bytes`, refusing them unless the magic, format version, lengths,
    /// checksum, header fields, offsets, hash order and classes are all right. Cost: one pass
    /// of the checksum and one of the offsets, hashes and classes; nothing is copied.
    pub fn from_bytes(bytes: &'a [u8]) -> Result<Model<'a>, ModelError> {
        Self::read(bytes, Checks::All)
    }

    /// Reads the build's own model, which `build.rs` read back with every check before
    /// embedding it: the header and the sections' bounds only, not the checksum pass nor the
    /// pass over offsets, hashes and classes. A fresh instance per request pays this on
    /// every classified order, so it is kept to the header.
    pub(crate) fn from_trusted_bytes(bytes: &'a [u8]) -> Result<Model<'a>, ModelError> {
        Self::read(bytes, Checks::Bounds)
    }

    fn read(bytes: &'a [u8], checks: Checks) -> Result<Model<'a>, ModelError> {
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(ModelError::BadMagic);
        }
        let mut r = Reader { bytes, at: MAGIC.len() };
        let format = r.u32()?;
        if format != FORMAT_VERSION {
            return Err(ModelError::UnsupportedFormat(format));
        }
        let header_len = r.u32()? as usize;
        let header_end = r.at.checked_add(header_len).ok_or(ModelError::Truncated)?;
        if bytes.len() < header_end.saturating_add(8) {
            return Err(ModelError::Truncated);
        }
        let (body, sum) = bytes.split_at(bytes.len() - 8);
        if checks == Checks::All && checksum(body) != u64::from_le_bytes(sum.try_into().expect("8 bytes")) {
            return Err(ModelError::ChecksumMismatch);
        }
        let mut model = Self::read_header(&mut r)?;
        let (features, entries) = (r.u32()? as usize, r.u32()? as usize);
        if r.at != header_end {
            return Err(ModelError::BadHeader("header length"));
        }
        model.hashes = r.take(features.checked_mul(4).ok_or(ModelError::Truncated)?)?;
        model.offsets = r.take((features + 1) * 4)?;
        model.classes = r.take(entries)?;
        model.weights = r.take(entries.checked_mul(2).ok_or(ModelError::Truncated)?)?;
        if r.at + 8 != bytes.len() {
            return Err(if r.at + 8 < bytes.len() { ModelError::TrailingBytes } else { ModelError::Truncated });
        }
        model.bytes = bytes;
        if checks == Checks::All {
            model.check_body(entries)?;
        }
        Ok(model)
    }

    /// The header up to (not including) the feature and entry counts.
    fn read_header(r: &mut Reader<'a>) -> Result<Model<'a>, ModelError> {
        let version_len = r.u16()? as usize;
        let version = r.str(version_len, "version")?;
        let training_size = r.u64()?;
        let heldout_accuracy = f64::from_le_bytes(r.array()?);
        let temperature = f32::from_le_bytes(r.array()?);
        let scale = f32::from_le_bytes(r.array()?);
        let (ngram_min, ngram_max, max_chars) = (r.u8()?, r.u8()?, r.u32()?);
        if !(temperature.is_finite() && temperature > 0.0) {
            return Err(ModelError::BadHeader("temperature"));
        }
        if !(scale.is_finite() && scale >= 0.0) {
            return Err(ModelError::BadHeader("scale"));
        }
        if ngram_min == 0 || ngram_min > ngram_max || ngram_max > 8 {
            return Err(ModelError::BadHeader("n-gram orders"));
        }
        let n_classes = r.u16()? as usize;
        if n_classes == 0 || n_classes > 256 {
            return Err(ModelError::BadHeader("class count"));
        }
        let mut categories = Vec::with_capacity(n_classes);
        for _ in 0..n_classes {
            let len = r.u8()? as usize;
            categories.push(r.str(len, "class code")?);
        }
        Ok(Model {
            bytes: &[],
            version,
            training_size,
            heldout_accuracy,
            temperature,
            scale,
            ngram_min,
            ngram_max,
            max_chars,
            categories,
            hashes: &[],
            offsets: &[],
            classes: &[],
            weights: &[],
        })
    }

    /// Offsets from 0 to `entries` never going back, hashes strictly increasing, classes listed.
    fn check_body(&self, entries: usize) -> Result<(), ModelError> {
        let features = self.hashes.len() / 4;
        if u32_at(self.offsets, 0) != 0 || u32_at(self.offsets, features) as usize != entries {
            return Err(ModelError::BadOffsets);
        }
        for i in 0..features {
            if u32_at(self.offsets, i) > u32_at(self.offsets, i + 1) {
                return Err(ModelError::BadOffsets);
            }
            if i > 0 && u32_at(self.hashes, i - 1) >= u32_at(self.hashes, i) {
                return Err(ModelError::UnsortedFeatures);
            }
        }
        let n = self.categories.len();
        if self.classes.iter().any(|&c| c as usize >= n) {
            return Err(ModelError::BadClass);
        }
        Ok(())
    }

    /// What the model was called when trained: `embedded-<hash>` for the build's, else what
    /// `train` was given.
    pub fn version(&self) -> &str {
        self.version
    }

    /// How many examples it was trained on.
    pub fn training_size(&self) -> u64 {
        self.training_size
    }

    /// Its top-1 accuracy on the held-out split, as recorded when it was trained.
    pub fn heldout_accuracy(&self) -> f64 {
        self.heldout_accuracy
    }

    /// Its size in bytes.
    pub fn size(&self) -> usize {
        self.bytes.len()
    }

    /// The category codes it chooses from, in class order.
    pub fn categories(&self) -> &[&'a str] {
        &self.categories
    }

    /// The softmax temperature of its confidence.
    pub fn temperature(&self) -> f64 {
        self.temperature as f64
    }

    /// The n-gram orders (shortest, longest) and the characters of a text it reads.
    pub fn ngram_config(&self) -> (u8, u8, usize) {
        (self.ngram_min, self.ngram_max, self.max_chars as usize)
    }

    /// The entries of the feature with this hash, if the model has it.
    fn entries(&self, hash: u32) -> Option<std::ops::Range<usize>> {
        let (mut lo, mut hi) = (0usize, self.hashes.len() / 4);
        while lo < hi {
            let mid = (lo + hi) / 2;
            match u32_at(self.hashes, mid).cmp(&hash) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => {
                    return Some(u32_at(self.offsets, mid) as usize..u32_at(self.offsets, mid + 1) as usize);
                }
            }
        }
        None
    }

    /// The raw linear score of every class for the text (at most `max_chars` characters read):
    /// the sum of its features' weights times 1/√(its feature count), as in training.
    pub fn scores(&self, text: &str) -> Vec<f64> {
        let mut acc = vec![0i64; self.categories.len()];
        let features = crate::features::features(text, self.ngram_min, self.ngram_max, self.max_chars as usize);
        let norm = 1.0 / (features.len() as f64).sqrt();
        for hash in features {
            if let Some(range) = self.entries(hash) {
                for e in range {
                    let w = i16::from_le_bytes([self.weights[e * 2], self.weights[e * 2 + 1]]);
                    acc[self.classes[e] as usize] += w as i64;
                }
            }
        }
        acc.into_iter().map(|s| s as f64 * self.scale as f64 * norm).collect()
    }

    /// The index of the best-scoring class (the first on a tie).
    pub fn top1(&self, text: &str) -> usize {
        let scores = self.scores(text);
        let mut best = 0;
        for (i, s) in scores.iter().enumerate() {
            if *s > scores[best] {
                best = i;
            }
        }
        best
    }
}
