//! Measuring a model (评估): placed right, placed wrong, left to the centre, and whether the
//! right category is among the centre's three suggestions; and out-of-fold scores on the
//! training split, from which the temperature and the default threshold are chosen.

use serde::Serialize;

use crate::{Classification, Example, Model, Placement, calibrate, classification_from_scores, learn, place};

/// The figures of a model on labelled examples at one threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    pub threshold: f64,
    pub total: u32,
    /// Placed confidently in the right category.
    pub right: u32,
    /// Placed confidently in a wrong category.
    pub wrong: u32,
    /// Left to the centre (unsure, or top category Z99), Z99-labelled examples included.
    pub to_centre: u32,
    /// Of those left to the centre, how many have the right category among the suggestions.
    pub centre_top3: u32,
    /// Top-1 correct, regardless of confidence.
    pub top1_correct: u32,
    pub top1_accuracy: f64,
    pub right_share: f64,
    pub wrong_share: f64,
    pub centre_share: f64,
    /// `centre_top3 / to_centre` (1 when nothing went to the centre).
    pub centre_top3_share: f64,
    /// Top-1 confusions (true, predicted, count), most frequent first (then by codes).
    pub confusion: Vec<(String, String, u32)>,
}

/// Evaluates classifications against their true categories at `threshold`.
pub fn evaluate_classified(pairs: &[(Classification, &str)], threshold: f64) -> Evaluation {
    let mut e = Evaluation {
        threshold,
        total: pairs.len() as u32,
        right: 0,
        wrong: 0,
        to_centre: 0,
        centre_top3: 0,
        top1_correct: 0,
        top1_accuracy: 0.0,
        right_share: 0.0,
        wrong_share: 0.0,
        centre_share: 0.0,
        centre_top3_share: 1.0,
        confusion: Vec::new(),
    };
    let mut confusion: std::collections::BTreeMap<(String, String), u32> = Default::default();
    for (c, truth) in pairs {
        if c.category == *truth {
            e.top1_correct += 1;
        } else {
            *confusion.entry((truth.to_string(), c.category.clone())).or_default() += 1;
        }
        match place(c, threshold) {
            Placement::Confident { category } if category == *truth => e.right += 1,
            Placement::Confident { .. } => e.wrong += 1,
            Placement::Centre => {
                e.to_centre += 1;
                if c.suggestions.iter().any(|s| s.category == *truth) {
                    e.centre_top3 += 1;
                }
            }
        }
    }
    let n = e.total.max(1) as f64;
    e.top1_accuracy = e.top1_correct as f64 / n;
    e.right_share = e.right as f64 / n;
    e.wrong_share = e.wrong as f64 / n;
    e.centre_share = e.to_centre as f64 / n;
    if e.to_centre > 0 {
        e.centre_top3_share = e.centre_top3 as f64 / e.to_centre as f64;
    }
    let mut confusion: Vec<(String, String, u32)> = confusion.into_iter().map(|((t, p), n)| (t, p, n)).collect();
    confusion.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| (&a.0, &a.1).cmp(&(&b.0, &b.1))));
    e.confusion = confusion;
    e
}

/// Evaluates `model` on `examples` at `threshold`.
pub fn evaluate(model: &Model, examples: &[Example], threshold: f64) -> Evaluation {
    let pairs: Vec<(Classification, &str)> =
        examples.iter().map(|x| (model.classify(&x.text), x.category.as_str())).collect();
    evaluate_classified(&pairs, threshold)
}

/// Out-of-fold raw scores on a training split: every example scored by a model trained on the
/// other folds (examples dealt to folds round-robin, in file order).
#[derive(Debug, Clone)]
pub struct OutOfFold {
    pub categories: Vec<String>,
    /// Per example: its raw class scores and its true category.
    pub scores: Vec<(Vec<f64>, String)>,
}

impl OutOfFold {
    /// The out-of-fold evaluation with softmax temperature `temperature` at `threshold`.
    pub fn evaluate(&self, temperature: f64, threshold: f64) -> Evaluation {
        let codes: Vec<&str> = self.categories.iter().map(String::as_str).collect();
        let pairs: Vec<(Classification, &str)> =
            self.scores.iter().map(|(s, t)| (classification_from_scores(s, &codes, temperature), t.as_str())).collect();
        evaluate_classified(&pairs, threshold)
    }

    /// Mean negative log-likelihood of the true categories at `temperature`.
    pub fn log_loss(&self, temperature: f64) -> f64 {
        let mut total = 0.0;
        for (s, truth) in &self.scores {
            let max = s.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let z: f64 = s.iter().map(|x| ((x - max) / temperature).exp()).sum();
            let i = self.categories.iter().position(|c| c == truth).unwrap_or(0);
            total += z.ln() - (s[i] - max) / temperature;
        }
        total / self.scores.len().max(1) as f64
    }
}

/// Scores every example out of fold with `folds`-fold cross-validation, the folds dealt
/// round-robin within each category (as the build's calibration does).
pub fn out_of_fold(examples: &[Example], folds: usize) -> OutOfFold {
    out_of_fold_with(examples, folds, &learn::CONFIG)
}

/// `out_of_fold` with the trainer's knobs `cfg`.
pub(crate) fn out_of_fold_with(examples: &[Example], folds: usize, cfg: &learn::Config) -> OutOfFold {
    let pairs: Vec<(&str, &str)> = examples.iter().map(|e| (e.text.as_str(), e.category.as_str())).collect();
    let (kept, categories) = learn::prepare(&pairs);
    let scores = calibrate::out_of_fold_scores(&kept, &categories, folds, cfg);
    let scores = scores.into_iter().zip(&kept).map(|(s, (_, y))| (s, categories[*y].clone())).collect();
    OutOfFold { categories, scores }
}
