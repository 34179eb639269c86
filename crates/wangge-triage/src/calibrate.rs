//! Calibration (校准) by cross-validation on the training examples, never on held-out: the
//! softmax temperature and the default threshold are recomputed from the corpus at every
//! build, so they follow the corpus as it grows.
//!
//! - Every example is scored out of fold: [`FOLDS`]-fold cross-validation, the folds dealt
//!   round-robin within each category (stratified), so each fold holds a fair share of every
//!   category and each fold's model sees 90% of the examples.
//! - **Temperature**: the one on a 0.05 grid (0.20..=2.00) with the least out-of-fold log loss.
//! - **Threshold**: the lowest, in hundredths, at which the out-of-fold share placed wrongly
//!   (confident, not Z99, and not the true category) is at most [`MAX_WRONG`].
//!
//! Shared with `build.rs` (included there with `#[path]`), so it depends on nothing.

use crate::format::encode;
use crate::learn::{Config, train_with};
use crate::model::Model;

/// Cross-validation folds.
pub const FOLDS: usize = 10;
/// The greatest out-of-fold share placed confidently in a wrong category that the threshold allows.
pub const MAX_WRONG: f64 = 0.03;
/// The centre's category: placed to the centre whatever the confidence.
const CENTRE: &str = "Z99";

/// What cross-validation chose, and the out-of-fold figures at that choice.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibration {
    pub temperature: f32,
    pub threshold: f64,
    /// Out-of-fold top-1 accuracy.
    pub top1: f64,
    /// Out-of-fold shares at the threshold: placed right, placed wrong.
    pub right: f64,
    pub wrong: f64,
}

/// The fold of each example: round-robin within its class, in order.
pub fn folds_of(classes: &[usize], folds: usize) -> Vec<usize> {
    let mut seen = vec![0usize; classes.iter().max().map_or(0, |m| m + 1)];
    classes
        .iter()
        .map(|&c| {
            seen[c] += 1;
            (seen[c] - 1) % folds
        })
        .collect()
}

/// Every example's raw class scores from a model trained without its fold.
pub fn out_of_fold_scores(
    examples: &[(&str, usize)],
    categories: &[String],
    folds: usize,
    cfg: &Config,
) -> Vec<Vec<f64>> {
    let classes: Vec<usize> = examples.iter().map(|e| e.1).collect();
    let fold_of = folds_of(&classes, folds);
    let mut scores = vec![Vec::new(); examples.len()];
    for fold in 0..folds {
        let train: Vec<(&str, usize)> =
            examples.iter().zip(&fold_of).filter(|(_, f)| **f != fold).map(|(e, _)| *e).collect();
        let bytes = encode(&train_with(&train, categories, cfg));
        let model = Model::from_bytes(&bytes).expect("a trained model reads back");
        for (i, (text, _)) in examples.iter().enumerate().filter(|(i, _)| fold_of[*i] == fold) {
            scores[i] = model.scores(text);
        }
    }
    scores
}

/// The softmax at `t` of `scores`: (best class, its probability, the probability of `y`).
fn softmax(scores: &[f64], t: f64, y: usize) -> (usize, f64, f64) {
    let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let z: f64 = scores.iter().map(|s| ((s - max) / t).exp()).sum();
    // The first best on a tie, as the classifier ranks.
    let best = scores.iter().position(|&s| s == max).unwrap_or(0);
    (best, 1.0 / z, ((scores[y] - max) / t).exp() / z)
}

/// Mean out-of-fold negative log-likelihood of the true classes at temperature `t`.
pub fn log_loss(scores: &[Vec<f64>], classes: &[usize], t: f64) -> f64 {
    let total: f64 = scores.iter().zip(classes).map(|(s, &y)| -softmax(s, t, y).2.max(1e-300).ln()).sum();
    total / scores.len().max(1) as f64
}

/// Out-of-fold (right, wrong) shares when placing at `threshold` with temperature `t`.
pub fn placed(scores: &[Vec<f64>], classes: &[usize], categories: &[String], t: f64, threshold: f64) -> (f64, f64) {
    let (mut right, mut wrong) = (0usize, 0usize);
    for (s, &y) in scores.iter().zip(classes) {
        let (best, p, _) = softmax(s, t, y);
        if p >= threshold && categories[best] != CENTRE {
            if best == y { right += 1 } else { wrong += 1 }
        }
    }
    let n = scores.len().max(1) as f64;
    (right as f64 / n, wrong as f64 / n)
}

/// The temperature and threshold for `examples` (as `learn::prepare` gives them) by
/// [`FOLDS`]-fold cross-validation with the knobs `cfg` (its temperature and fit target unused).
pub fn calibrate(examples: &[(&str, usize)], categories: &[String], cfg: &Config) -> Calibration {
    let cfg = Config { confident_at: None, ..*cfg };
    let scores = out_of_fold_scores(examples, categories, FOLDS, &cfg);
    let classes: Vec<usize> = examples.iter().map(|e| e.1).collect();
    let mut temperature = 1.0f32;
    let mut least = f64::INFINITY;
    for k in 4..=40 {
        let t = k as f32 / 20.0;
        let loss = log_loss(&scores, &classes, t as f64);
        if loss < least {
            (least, temperature) = (loss, t);
        }
    }
    let t = temperature as f64;
    let threshold = (0..100)
        .map(|k| k as f64 / 100.0)
        .find(|&x| placed(&scores, &classes, categories, t, x).1 <= MAX_WRONG)
        .unwrap_or(0.99);
    let top1 = scores.iter().zip(&classes).filter(|(s, y)| softmax(s, t, **y).0 == **y).count() as f64
        / scores.len().max(1) as f64;
    let (right, wrong) = placed(&scores, &classes, categories, t, threshold);
    Calibration { temperature, threshold, top1, right, wrong }
}
