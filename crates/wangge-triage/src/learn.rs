//! Training (训练): multinomial logistic regression over the hashed n-grams by SGD, plus
//! multinomial naive Bayes log-count ratios in the same weights ([`NB_WEIGHT`]), then a
//! fitting pass so every training example (and so every correction from the centre) is placed
//! as labelled, then pruning of tiny weights and quantisation to i16.
//!
//! Deterministic: the shuffles use a fixed seed, so the same examples give the same bytes.
//! Shared with `build.rs` (included there with `#[path]`), so it depends on nothing.

use crate::features::{MAX_CHARS, NGRAM_MAX, NGRAM_MIN, features};
use crate::format::Parts;

/// Passes of gradient descent over the shuffled examples.
/// 10 rather than 20: by 10-fold CV on the corpus (4,105 lines) the same top-1 (93.1%) and
/// placed-right share (84.6% against 84.7%), at half the build's and a retrain's time.
pub const EPOCHS: usize = 10;
/// The first pass's learning rate (features have unit length per text).
pub const RATE: f32 = 4.0;
/// Extra passes at most of the fitting step (most end after one or two).
pub const FIT_PASSES: usize = 10;
/// Each feature's learning rate is scaled by its inverse document frequency
/// (ln((N+1)/(df+1)) + 1, over the training texts) to this power, normalised to mean 1 over the
/// feature occurrences: rare, telling n-grams learn faster than common characters (的, 了, 我).
/// By 10-fold CV on the corpus (3,429 lines): top-1 89.7% → 91.9% (power 2: 91.9%, 4: 91.5%),
/// placed right at the CV threshold 74.4% → 80.6% (power 2: 79.9%, 4: 81.0% but top-3 lower).
pub const IDF_POWER: f32 = 3.0;
/// The shuffles' seed.
pub const SEED: u64 = 0x5eed_1234_5678_9abc;
/// The score gap by which the fitting pass lifts a misplaced example's label over the rest.
pub const FIT_MARGIN: f32 = 0.1;
/// Weights whose magnitude is below this are dropped (pruned) from the model. 0.2 rather than
/// 0.1 for the load time: a fresh instance checksums every byte, and with the idf boost the
/// 0.1-pruned model is 825 KB (native load p99 ~0.4 ms) against 500 KB; the cost by 10-fold CV
/// on the corpus (3,881 lines) is top-1 92.7% → 92.6%, placed right 84.2% → 83.7%.
pub const PRUNE_BELOW: f32 = 0.2;

/// After the regression, each feature's multinomial naive Bayes (朴素贝叶斯) log-count ratio
/// ln((count in class + [`NB_ALPHA`]) / [`NB_ALPHA`]) times this is added to its weight for every
/// class it occurs in (before the fitting pass): the two linear models averaged in one set of
/// weights, so the format and the classifier are unchanged. By 10-fold CV on the corpus (4,231
/// lines): top-1 93.1% → 93.7%, placed right at the CV threshold 84.6% → 87.0% (wrong 3.0% both;
/// weight 0.1: 86.2%, 0.35: 86.7%; smoothing 1: 85.8%), model 505 → 557 KB.
pub const NB_WEIGHT: f32 = 0.2;
/// Naive Bayes additive smoothing (α) of [`NB_WEIGHT`]'s log-count ratios.
pub const NB_ALPHA: f32 = 0.1;

/// The trainer's knobs, gathered so cross-validation can compare them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Config {
    /// Passes of gradient descent.
    pub epochs: usize,
    /// The first pass's learning rate.
    pub rate: f32,
    /// Longest n-gram.
    pub ngram_max: u8,
    /// Scale each feature's learning rate by its inverse document frequency to this power
    /// (0: no scaling).
    pub idf: f32,
    /// Pruning cut.
    pub prune: f32,
    /// Softmax temperature of the confidence, written in the model's header.
    pub temperature: f32,
    /// The fitting pass lifts every training example to this confidence (at `temperature`),
    /// not just to top-1: the default threshold, so a correction is placed confidently.
    pub confident_at: Option<f32>,
    /// Weight of the naive Bayes log-count ratios added to the regression's weights (0: none).
    pub nb: f32,
    /// Naive Bayes additive smoothing.
    pub nb_alpha: f32,
}

/// The configuration the crate trains with (before calibration: temperature 1, top-1 fit).
pub const CONFIG: Config = Config {
    epochs: EPOCHS,
    rate: RATE,
    ngram_max: NGRAM_MAX,
    idf: IDF_POWER,
    prune: PRUNE_BELOW,
    temperature: 1.0,
    confident_at: None,
    nb: NB_WEIGHT,
    nb_alpha: NB_ALPHA,
};

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
    /// Per example, the value of each of its features: 1/√(feature count), so a text's
    /// feature vector has length 1 whatever its length.
    norms: Vec<f32>,
    /// Per vocabulary feature, its learning-rate factor: 1, or with `Config::idf` its inverse
    /// document frequency squared (rare n-grams learn faster than common ones).
    boost: Vec<f32>,
    classes: Vec<u8>,
    n_classes: usize,
}

impl Samples {
    fn new(examples: &[(&str, usize)], n_classes: usize, ngram_max: u8, idf: f32) -> Samples {
        let hashed: Vec<Vec<u32>> =
            examples.iter().map(|(text, _)| features(text, NGRAM_MIN, ngram_max, MAX_CHARS)).collect();
        let mut vocabulary: Vec<u32> = hashed.iter().flatten().copied().collect();
        vocabulary.sort_unstable();
        vocabulary.dedup();
        let features: Vec<Vec<u32>> = hashed
            .iter()
            .map(|h| h.iter().map(|x| vocabulary.binary_search(x).expect("in vocabulary") as u32).collect())
            .collect();
        let norms = hashed.iter().map(|h| 1.0 / (h.len() as f32).sqrt()).collect();
        let classes = examples.iter().map(|&(_, c)| c as u8).collect();
        let mut boost = vec![1f32; vocabulary.len()];
        if idf > 0.0 {
            let mut df = vec![0u32; vocabulary.len()];
            features.iter().flatten().for_each(|&f| df[f as usize] += 1);
            let n = examples.len() as f32;
            boost = df.iter().map(|&d| ((n + 1.0) / (d as f32 + 1.0)).ln() + 1.0).map(|x| x.powf(idf)).collect();
            let occurrences: f32 = df.iter().map(|&d| d as f32).sum::<f32>().max(1.0);
            let mean = df.iter().zip(&boost).map(|(&d, b)| d as f32 * b).sum::<f32>() / occurrences;
            boost.iter_mut().for_each(|b| *b /= mean);
        }
        Samples { vocabulary, features, norms, boost, classes, n_classes }
    }

    /// The best class of example `i` under `w`; `scores` gets every class's score.
    fn predict(&self, w: &[f32], i: usize, scores: &mut [f32]) -> usize {
        let c = self.n_classes;
        scores.iter_mut().for_each(|s| *s = 0.0);
        for &f in &self.features[i] {
            let row = &w[f as usize * c..f as usize * c + c];
            for k in 0..c {
                scores[k] += row[k];
            }
        }
        scores.iter_mut().for_each(|s| *s *= self.norms[i]);
        let mut best = 0;
        for k in 1..c {
            if scores[k] > scores[best] {
                best = k;
            }
        }
        best
    }
}

/// Multinomial logistic regression (多类逻辑回归) by stochastic gradient descent: `EPOCHS`
/// passes in a fixed-seed shuffle, the rate `RATE / (1 + epoch)`. Weights are dense here,
/// feature-major, `n_classes` per feature; pruning makes the model sparse.
fn softmax_regression(s: &Samples, cfg: &Config) -> Vec<f32> {
    let c = s.n_classes;
    let mut w = vec![0f32; s.vocabulary.len() * c];
    let mut scores = vec![0f32; c];
    let mut order: Vec<usize> = (0..s.classes.len()).collect();
    let mut rng = Shuffler(SEED);
    for epoch in 0..cfg.epochs {
        rng.shuffle(&mut order);
        let rate = cfg.rate / (1.0 + epoch as f32);
        for &i in &order {
            let y = s.classes[i] as usize;
            s.predict(&w, i, &mut scores);
            let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            scores.iter_mut().for_each(|x| *x = (*x - max).exp());
            let z: f32 = scores.iter().sum();
            scores.iter_mut().for_each(|x| *x /= z);
            scores[y] -= 1.0;
            let x = s.norms[i] * rate;
            // Plain index loops: the build script runs unoptimised, where they are the fastest.
            for &f in &s.features[i] {
                let row = &mut w[f as usize * c..f as usize * c + c];
                let x = x * s.boost[f as usize];
                for k in 0..c {
                    row[k] -= x * scores[k];
                }
            }
        }
    }
    w
}

/// Updates the weights until every example is placed as labelled (or `FIT_PASSES` run
/// out): a correction of an exact text then changes that text's placement. With `sure`
/// (temperature, threshold), an example is also lifted until its label's softmax confidence
/// reaches the threshold, so a correction is placed confidently, not left to the centre.
fn fit(s: &Samples, w: &mut [f32], sure: Option<(f32, f32)>) {
    let c = s.n_classes;
    let mut scores = vec![0f32; c];
    for _ in 0..FIT_PASSES {
        let mut moved = 0;
        for i in 0..s.classes.len() {
            let y = s.classes[i] as usize;
            s.predict(w, i, &mut scores);
            let Some(q) = (0..c).filter(|&k| k != y).max_by(|&a, &b| scores[a].total_cmp(&scores[b])) else {
                continue;
            };
            let gap = match sure {
                Some((t, threshold)) if softmax_of(&scores, y, t) < threshold => {
                    t * (threshold / (1.0 - threshold)).ln() + FIT_MARGIN
                }
                _ if scores[q] >= scores[y] => FIT_MARGIN,
                _ => continue,
            };
            moved += 1;
            // Enough to lift y over q by `gap`: the feature vector has length 1, so moving
            // each weight by ±step·x/2 moves the score gap by `step`.
            let step = (scores[q] - scores[y]) + gap;
            let x = s.norms[i] * step / 2.0;
            for &f in &s.features[i] {
                let f = f as usize * c;
                w[f + y] += x;
                w[f + q] -= x;
            }
        }
        if moved == 0 {
            break;
        }
    }
}

/// Adds `weight` times each feature's naive Bayes log-count ratio ln((count + α)/α) in every
/// class it occurs in (sparse: zero where it never occurs).
fn add_naive_bayes(s: &Samples, w: &mut [f32], weight: f32, alpha: f32) {
    let c = s.n_classes;
    // Sparse counts: every (feature, class) occurrence as its weight index, sorted, counted by runs.
    let mut seen: Vec<usize> = s
        .features
        .iter()
        .zip(&s.classes)
        .flat_map(|(feats, &y)| feats.iter().map(move |&f| f as usize * c + y as usize))
        .collect();
    seen.sort_unstable();
    for run in seen.chunk_by(|a, b| a == b) {
        w[run[0]] += weight * ((run.len() as f32 + alpha) / alpha).ln();
    }
}

/// The softmax probability of class `y` among `scores` at temperature `t`.
fn softmax_of(scores: &[f32], y: usize, t: f32) -> f32 {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let z: f32 = scores.iter().map(|s| ((s - max) / t).exp()).sum();
    ((scores[y] - max) / t).exp() / z
}

/// Trains on `(text, class index)` pairs over `categories` with the knobs `cfg` and returns
/// the model's parts (version, training size and held-out accuracy are left for the caller).
pub fn train_with(examples: &[(&str, usize)], categories: &[String], cfg: &Config) -> Parts {
    let s = Samples::new(examples, categories.len().max(1), cfg.ngram_max, cfg.idf);
    let mut w = softmax_regression(&s, cfg);
    if cfg.nb > 0.0 {
        add_naive_bayes(&s, &mut w, cfg.nb, cfg.nb_alpha);
    }
    fit(&s, &mut w, cfg.confident_at.map(|c| (cfg.temperature, c)));
    let max = w.iter().fold(0f32, |m, x| m.max(x.abs()));
    let scale = if max > 0.0 { max / i16::MAX as f32 } else { 1.0 };
    let c = s.n_classes;
    let mut out = Vec::new();
    for (i, &hash) in s.vocabulary.iter().enumerate() {
        let entries: Vec<(u8, i16)> = (0..c)
            .filter_map(|k| {
                let q = (w[i * c + k] / scale).round() as i16;
                (q != 0 && w[i * c + k].abs() >= cfg.prune).then_some((k as u8, q))
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
        temperature: cfg.temperature,
        scale,
        ngram_min: NGRAM_MIN,
        ngram_max: cfg.ngram_max,
        max_chars: MAX_CHARS as u32,
        categories: categories.to_vec(),
        features: out,
    }
}

/// The examples as the trainer takes them: `(text, class index)` pairs over the category
/// codes seen, sorted. When the same text (after trimming) comes more than once, the last label
/// wins: corrections from the centre come after the corpus, so they override it.
pub fn prepare<'a>(examples: &[(&'a str, &str)]) -> (Vec<(&'a str, usize)>, Vec<String>) {
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
    (kept, categories)
}

/// Trains on `(text, category code)` pairs (see `prepare`) with the knobs `cfg`.
pub fn train_labelled(examples: &[(&str, &str)], cfg: &Config) -> Parts {
    let (kept, categories) = prepare(examples);
    train_with(&kept, &categories, cfg)
}
