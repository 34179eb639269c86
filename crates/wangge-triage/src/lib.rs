//! Smart dispatch (智能派单) for 12345 hotline work orders: which catalogue category
//! (`data/categories.json`) an order's free text belongs to, how sure that is, and the three
//! best candidates for the centre (中心) when it is not sure.
//!
//! # Model
//!
//! - **Features** (`features`): the text's first [`MAX_CHARS`] characters, normalised
//!   (full-width folded, Latin lower-cased, digits read as `0`, punctuation as one gap), cut
//!   into character 1- and 2-grams, each hashed to a u32 (FNV-1a), plus a bias feature; each
//!   present feature has the value 1/√(feature count), so long texts are not over-confident.
//!   No word segmentation: character n-grams need no dictionary and cope with typos and
//!   dialect (3-grams and skip-bigrams were tried: larger models, lower cross-validated accuracy).
//! - **Training** (`learn`): multinomial logistic regression (softmax) by SGD, [`EPOCHS`]
//!   passes in a fixed-seed shuffle, each feature's learning rate scaled by its inverse
//!   document frequency to the power [`IDF_POWER`] (rare, telling n-grams learn faster than
//!   common characters; the largest gain measured); then each feature's multinomial naive Bayes
//!   log-count ratio times [`NB_WEIGHT`] is added to its weights in the classes it occurs in (the
//!   two linear models averaged in one set of weights: out of fold +2.4 points placed right);
//!   then a fitting pass that nudges the weights until every training example is placed as labelled *and confidently* (its softmax confidence at least
//!   [`DEFAULT_THRESHOLD`]), so a correction from the centre is afterwards placed in its new
//!   category, not left to the centre. Weights under [`PRUNE_BELOW`] are dropped, the rest
//!   quantised to i16 with one scale. Same examples, same bytes.
//! - **Calibration** (`calibrate`), at every build, on the corpus only: every example is scored
//!   out of fold ([`FOLDS`]-fold cross-validation, folds stratified by category); the softmax
//!   temperature ([`TEMPERATURE`]) is the one with the least out-of-fold log loss, and
//!   [`DEFAULT_THRESHOLD`] the lowest confidence, in hundredths, at which the out-of-fold share
//!   placed wrongly is at most [`MAX_WRONG`]. Both follow the corpus as it grows; held-out
//!   chooses nothing. Retraining at run time ([`train`]) reuses the build's two.
//! - **Build time**: `build.rs` calibrates, trains on `data/triage/corpus.jsonl`, measures top-1
//!   on `data/triage/heldout.jsonl` (never trained on) and embeds the bytes
//!   ([`EMBEDDED_BYTES`]) and the two calibrated values; [`BUILD_REPORT`] has the out-of-fold
//!   figures. The two files are embedded too ([`corpus`], [`heldout`]) so the intake function
//!   can retrain at run time ([`train`]) from the corpus plus corrections.
//! - **Confidence**: the softmax of the class scores divided by [`TEMPERATURE`]. [`place`]
//!   sends an order to the centre when the confidence is under the threshold or the top
//!   category is Z99.
//! - **Figures** (corpus of 4,231 lines; they move with the corpus, `triage-report` prints
//!   them). Out of fold on the corpus: top-1 93.7%; at the chosen threshold 0.72 (temperature
//!   0.65), placed right 87.0%, wrong 3.0%, centre top-3 96.9%. On held-out: top-1 96.3%; at
//!   0.72, placed right 91.0%, wrong 1.9%, to the centre 7.1% with the right category among its
//!   three suggestions 100%. (The corpus's lines are longer and noisier than held-out's, so the
//!   threshold that caps the out-of-fold wrong share at 3% is cautious on held-out.) Model 557
//!   KB. Tried by cross-validation and not kept: 40 epochs, other learning rates, averaged SGD,
//!   L2 shrinkage, 3-grams, skip-bigrams, idf powers 2 and 4, and the top-1 − top-2
//!   probability margin as the score (out-of-fold right +0.2–0.8 points, within noise, and the
//!   confidence would no longer be the top suggestion's score). At 4,231 lines, before naive
//!   Bayes (out of fold top-1 / right at ≤ 3% wrong, base 93.2 / 84.6): per-class thresholds
//!   (each predicted class's lowest threshold keeping its own wrong share ≤ 3%, chosen on nine
//!   folds' out-of-fold scores and applied to the tenth) 81.1 right, too few examples per
//!   class to choose 42 thresholds; 1–3-grams 92.4 / 81.4 at 1.1 MB; the 1–2- and 1–3-gram
//!   models' scores averaged 93.0 / 83.7; the category names (`data/categories.json`) as three
//!   extra examples each 92.9 / 84.9 (noise). So [`place`] keeps one global threshold.
//! - **Format** (`format`): magic, format version, header (version string, training size,
//!   held-out accuracy, temperature, n-gram config, category list), then sorted feature
//!   hashes, per-feature entry offsets, and sparse (class u8, weight i16) entries, then a
//!   64-bit word-at-a-time checksum over everything. [`Model::from_bytes`] checks it all and
//!   borrows the bytes: classification binary-searches the hashes in place, so a fresh wasm
//!   instance loads and classifies without building any map.

mod calibrate;
mod eval;
mod features;
mod format;
mod learn;
mod model;

use serde::{Deserialize, Serialize};

pub use calibrate::{Calibration, FOLDS, MAX_WRONG};
pub use eval::{Evaluation, OutOfFold, evaluate, out_of_fold};
pub use features::MAX_CHARS;
pub use format::checksum;
pub use learn::{EPOCHS, IDF_POWER, NB_ALPHA, NB_WEIGHT, PRUNE_BELOW};
pub use model::{Model, ModelError};

/// The category of the centre's triage queue (其他): a top category of Z99 means "to the centre".
pub const CENTRE_CATEGORY: &str = "Z99";

/// The confidence under which an order goes to the centre. Recomputed from the corpus at every
/// build by [`FOLDS`]-fold cross-validation (never from held-out): the lowest threshold, in
/// hundredths, at which the out-of-fold share placed wrongly is at most [`MAX_WRONG`]
/// ([`BUILD_REPORT`] has the out-of-fold figures; `triage-report` prints the sweep).
pub const DEFAULT_THRESHOLD: f64 = include!(concat!(env!("OUT_DIR"), "/threshold.rs"));

/// Softmax temperature of the confidence: the least out-of-fold log loss in the same
/// cross-validation, recomputed at every build. Retraining at run time ([`train`]) reuses it.
pub const TEMPERATURE: f32 = include!(concat!(env!("OUT_DIR"), "/temperature.rs"));

/// The model `build.rs` trained on the corpus.
pub const EMBEDDED_BYTES: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/triage.model"));
/// `build.rs`'s one line on the embedded model (version, size, held-out top-1, its own time).
pub const BUILD_REPORT: &str = include_str!(concat!(env!("OUT_DIR"), "/triage.report"));

// The copies `build.rs` read (and trained and measured on), not the files themselves, which
// may have changed since.
const CORPUS_JSONL: &str = include_str!(concat!(env!("OUT_DIR"), "/corpus.jsonl"));
const HELDOUT_JSONL: &str = include_str!(concat!(env!("OUT_DIR"), "/heldout.jsonl"));

/// A labelled work order text (工单内容 and its category code).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Example {
    pub text: String,
    pub category: String,
}

fn parse_jsonl(text: &str) -> Vec<Example> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("embedded triage data is valid JSON lines"))
        .collect()
}

/// The embedded training split, `data/triage/corpus.jsonl`.
pub fn corpus() -> Vec<Example> {
    parse_jsonl(CORPUS_JSONL)
}

/// The embedded held-out split, `data/triage/heldout.jsonl`: for measuring only, never training.
pub fn heldout() -> Vec<Example> {
    parse_jsonl(HELDOUT_JSONL)
}

/// What the model says of a text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    /// The top category code.
    pub category: String,
    /// Probability-like confidence in the top category, in [0, 1].
    pub confidence: f64,
    /// The three best categories (fewer if the model knows fewer), best first, the top included.
    pub suggestions: Vec<Suggestion>,
}

/// A candidate category and its probability-like score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suggestion {
    pub category: String,
    pub score: f64,
}

/// Where an order goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// Placed directly in this category (派单): confident, and not Z99.
    Confident {
        /// The category code.
        category: String,
    },
    /// Left to the centre (中心分拨) with the suggestions: unsure, or the top category is Z99.
    Centre,
}

/// Where `c` goes at `threshold`: the centre when the confidence is under it or the top
/// category is Z99, else its category.
pub fn place(c: &Classification, threshold: f64) -> Placement {
    if c.confidence < threshold || c.category == CENTRE_CATEGORY {
        Placement::Centre
    } else {
        Placement::Confident { category: c.category.clone() }
    }
}

/// The classification of raw `scores` over `categories` with softmax temperature `temperature`.
pub fn classification_from_scores(scores: &[f64], categories: &[&str], temperature: f64) -> Classification {
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let exps: Vec<f64> = scores.iter().map(|s| ((s - max) / temperature).exp()).collect();
    let total: f64 = exps.iter().sum();
    let mut ranked: Vec<(usize, f64)> = exps.iter().map(|e| e / total).enumerate().collect();
    // Stable: on a tie the earlier class comes first.
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1));
    let suggestions: Vec<Suggestion> =
        ranked.iter().take(3).map(|&(i, p)| Suggestion { category: categories[i].to_string(), score: p }).collect();
    Classification { category: suggestions[0].category.clone(), confidence: suggestions[0].score, suggestions }
}

impl Model<'static> {
    /// The model trained by the build (its version is `embedded-<hash of its bytes>`). Its
    /// bytes were read back with every check in `build.rs`, and a test checks them again, so
    /// only its header is read here (see `Model::from_trusted_bytes`).
    pub fn embedded() -> Model<'static> {
        Model::from_trusted_bytes(EMBEDDED_BYTES).expect("the embedded triage model is valid")
    }
}

impl Model<'_> {
    /// Classifies a work order's text. Any text gets an answer: an empty, foreign or symbol-only
    /// text scores on the bias alone and so comes out unsure; only the first
    /// [`MAX_CHARS`] characters are read, so a very long text costs no more.
    pub fn classify(&self, text: &str) -> Classification {
        classification_from_scores(&self.scores(text), self.categories(), self.temperature())
    }
}

/// Trains a model on `examples` and returns its bytes, named `version`. The classes are the
/// category codes in the examples; when a text comes twice the later label wins (put
/// corrections after the corpus). The header's held-out accuracy is measured here, on the
/// embedded held-out split (which is never trained on): top-1 of the new model.
pub fn train(examples: &[Example], version: &str) -> Vec<u8> {
    let pairs: Vec<(&str, &str)> = examples.iter().map(|e| (e.text.as_str(), e.category.as_str())).collect();
    let mut parts = learn::train_labelled(&pairs, &training_config());
    parts.version = version.to_string();
    let draft = format::encode(&parts);
    let model = Model::from_bytes(&draft).expect("a trained model reads back");
    let held = heldout();
    let codes = model.categories();
    let right = held.iter().filter(|e| codes[model.top1(&e.text)] == e.category).count();
    parts.heldout_accuracy = right as f64 / held.len().max(1) as f64;
    format::encode(&parts)
}

/// The knobs the embedded model was trained with: the build's temperature, and every
/// training example fitted to the default threshold (so a correction is placed confidently).
pub(crate) fn training_config() -> learn::Config {
    learn::Config { temperature: TEMPERATURE, confident_at: Some(DEFAULT_THRESHOLD as f32), ..learn::CONFIG }
}

/// The temperature and threshold cross-validation chooses on `examples` (the build runs this
/// on the corpus to set [`TEMPERATURE`] and [`DEFAULT_THRESHOLD`]), with the out-of-fold figures.
pub fn calibrate(examples: &[Example]) -> Calibration {
    let pairs: Vec<(&str, &str)> = examples.iter().map(|e| (e.text.as_str(), e.category.as_str())).collect();
    let (kept, categories) = learn::prepare(&pairs);
    calibrate::calibrate(&kept, &categories, &learn::CONFIG)
}
