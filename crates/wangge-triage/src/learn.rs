//! Training (训练): an averaged multiclass perceptron over the hashed n-grams, then a fitting
//! pass so every training example (and so every correction from the centre) is placed as
//! labelled, then quantisation to i16 and pruning of tiny weights.
//!
//! Deterministic: the shuffles use a fixed seed, so the same examples give the same bytes.
//! Shared with `build.rs` (included there with `#[path]`), so it depends on nothing.

use crate::features::{MAX_CHARS, NGRAM_MAX, NGRAM_MIN, features};
use crate::format::Parts;

/// Passes of the perceptron over the shuffled examples.
pub const EPOCHS: usize = 12;
/// Extra passes at most of the fitting step (most end after one or two).
pub const FIT_PASSES: usize = 10;
/// The shuffles' seed.
pub const SEED: u64 = 0x5eed_1234_5678_9abc;
/// Softmax temperature of the confidence, in the units of the averaged weights; chosen by
/// 5-fold cross-validation on the training split (see `triage-report`), never on held-out.
pub const TEMPERATURE: f32 = 1.0;
/// Quantised weights whose magnitude is below this many quantisation steps are dropped.
pub const PRUNE_STEPS: i16 = 2;

/// A small, fixed-seed xorshift generator for the shuffles.
struct Shuffler(u64);

impl Shuffler {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn shuffle(&mut self, v: &mut [usize]) {
        for i in (1..v.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

/// Labelled examples as the trainer sees them: per example its feature indices into the
/// vocabulary, and its class.
struct Samples {
    vocabulary: Vec<u32>,
    features: Vec<Vec<u32>>,
    classes: Vec<u8>,
    n_classes: usize,
}

impl Samples {
    fn new(examples: &[(&str, usize)], n_classes: usize) -> Samples {
        let hashed: Vec<Vec<u32>> =
            examples.iter().map(|(text, _)| features(text, NGRAM_MIN, NGRAM_MAX, MAX_CHARS)).collect();
        let mut vocabulary: Vec<u32> = hashed.iter().flatten().copied().collect();
        vocabulary.sort_unstable();
        vocabulary.dedup();
        let features = hashed
            .iter()
            .map(|h| h.iter().map(|x| vocabulary.binary_search(x).expect("in vocabulary") as u32).collect())
            .collect();
        let classes = examples.iter().map(|&(_, c)| c as u8).collect();
        Samples { vocabulary, features, classes, n_classes }
    }

    /// The best class of example `i` under `w`, and whether it beats the true class.
    fn predict(&self, w: &[f32], i: usize, scores: &mut [f32]) -> usize {
        let c = self.n_classes;
        scores.iter_mut().for_each(|s| *s = 0.0);
        for &f in &self.features[i] {
            let row = &w[f as usize * c..f as usize * c + c];
            scores.iter_mut().zip(row).for_each(|(s, x)| *s += x);
        }
        let mut best = 0;
        for k in 1..c {
            if scores[k] > scores[best] {
                best = k;
            }
        }
        best
    }
}

/// The averaged perceptron's weights, dense: feature-major, `n_classes` per feature.
fn perceptron(s: &Samples) -> Vec<f32> {
    let c = s.n_classes;
    let mut w = vec![0f32; s.vocabulary.len() * c];
    let mut u = vec![0f32; s.vocabulary.len() * c];
    let mut scores = vec![0f32; c];
    let mut order: Vec<usize> = (0..s.classes.len()).collect();
    let mut rng = Shuffler(SEED);
    let mut step = 1f32;
    for _ in 0..EPOCHS {
        rng.shuffle(&mut order);
        for &i in &order {
            let y = s.classes[i] as usize;
            let p = s.predict(&w, i, &mut scores);
            if p != y {
                for &f in &s.features[i] {
                    let f = f as usize * c;
                    w[f + y] += 1.0;
                    w[f + p] -= 1.0;
                    u[f + y] += step;
                    u[f + p] -= step;
                }
            }
            step += 1.0;
        }
    }
    w.iter_mut().zip(&u).for_each(|(w, u)| *w -= u / step);
    w
}

/// Updates the averaged weights until every example is placed as labelled (or `FIT_PASSES`
/// run out): a correction of an exact text then changes that text's placement.
fn fit(s: &Samples, w: &mut [f32]) {
    let c = s.n_classes;
    let mut scores = vec![0f32; c];
    for _ in 0..FIT_PASSES {
        let mut wrong = 0;
        for i in 0..s.classes.len() {
            let y = s.classes[i] as usize;
            let p = s.predict(w, i, &mut scores);
            if p != y {
                wrong += 1;
                // Enough to lift y over p by a margin, spread over the example's features.
                let step = ((scores[p] - scores[y]) + TEMPERATURE) / s.features[i].len() as f32;
                for &f in &s.features[i] {
                    let f = f as usize * c;
                    w[f + y] += step / 2.0;
                    w[f + p] -= step / 2.0;
                }
            }
        }
        if wrong == 0 {
            break;
        }
    }
}

/// Trains on `(text, class index)` pairs over `categories` and returns the model's parts
/// (version, training size and held-out accuracy are left for the caller to set).
pub fn train(examples: &[(&str, usize)], categories: &[String]) -> Parts {
    let s = Samples::new(examples, categories.len().max(1));
    let mut w = perceptron(&s);
    fit(&s, &mut w);
    let max = w.iter().fold(0f32, |m, x| m.max(x.abs()));
    let scale = if max > 0.0 { max / i16::MAX as f32 } else { 1.0 };
    let c = s.n_classes;
    let mut out = Vec::new();
    for (i, &hash) in s.vocabulary.iter().enumerate() {
        let entries: Vec<(u8, i16)> = (0..c)
            .filter_map(|k| {
                let q = (w[i * c + k] / scale).round() as i16;
                (q.unsigned_abs() >= PRUNE_STEPS as u16).then_some((k as u8, q))
            })
            .collect();
        if !entries.is_empty() {
            out.push((hash, entries));
        }
    }
    Parts {
        version: String::new(),
        training_size: examples.len() as u64,
        heldout_accuracy: f64::NAN,
        temperature: TEMPERATURE,
        scale,
        ngram_min: NGRAM_MIN,
        ngram_max: NGRAM_MAX,
        max_chars: MAX_CHARS as u32,
        categories: categories.to_vec(),
        features: out,
    }
}

/// Trains on `(text, category code)` pairs. The classes are the codes seen, sorted. When the
/// same text (after trimming) comes more than once, the last label wins: corrections from the
/// centre come after the corpus, so they override it.
pub fn train_labelled(examples: &[(&str, &str)]) -> Parts {
    let mut categories: Vec<String> = examples.iter().map(|(_, c)| c.to_string()).collect();
    categories.sort();
    categories.dedup();
    if categories.is_empty() {
        // Nothing to learn from: one class, the centre's.
        categories.push("Z99".to_string());
    }
    let mut last: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, (text, _)) in examples.iter().enumerate() {
        last.insert(text.trim(), i);
    }
    let kept: Vec<(&str, usize)> = examples
        .iter()
        .enumerate()
        .filter(|(i, (text, _))| last[text.trim()] == *i)
        .map(|(_, (text, code))| (*text, categories.binary_search(&code.to_string()).expect("listed")))
        .collect();
    train(&kept, &categories)
}
