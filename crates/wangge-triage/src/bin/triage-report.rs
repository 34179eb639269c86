//! Prints the triage figures as JSON (for scripts/bench.sh): held-out top-1, the placement
//! shares at `DEFAULT_THRESHOLD` and a threshold sweep, the ten most confused pairs, the
//! embedded model's size, native load+classify latency per held-out text, the time to train
//! on 10,000 examples, and the cross-validation on the corpus that chooses the temperature and
//! the default threshold (recomputed here: it matches the embedded ones when the corpus has not
//! changed since the build). `--no-cv` skips the cross-validation.

use std::time::Instant;

use serde_json::json;
use wangge_triage::{
    DEFAULT_THRESHOLD, EMBEDDED_BYTES, Example, FOLDS, MAX_WRONG, Model, TEMPERATURE, calibrate, corpus, evaluate,
    heldout, out_of_fold, train,
};

const SWEEP: &[f64] = &[0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.89, 0.9, 0.95, 0.98];

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn shares(e: &wangge_triage::Evaluation) -> serde_json::Value {
    json!({
        "threshold": e.threshold, "right": e.right_share, "wrong": e.wrong_share,
        "centre": e.centre_share, "centre_top3": e.centre_top3_share,
    })
}

/// The corpus repeated to 10,000 examples, each copy perturbed (a prefix and a suffix).
fn ten_thousand() -> Vec<Example> {
    let base = corpus();
    let fillers = ["喂你好，", "你好，", "麻烦问一下，", "我要反映，", "", "那个，"];
    (0..10_000)
        .map(|i| {
            let e = &base[i % base.len()];
            let copy = i / base.len();
            let text = format!("{}{}（第{}次来电）", fillers[copy % fillers.len()], e.text, copy);
            Example { text, category: e.category.clone() }
        })
        .collect()
}

fn cross_validation() -> serde_json::Value {
    let corpus = corpus();
    let chosen = calibrate(&corpus);
    let oof = out_of_fold(&corpus, FOLDS);
    let temps = [0.3, 0.4, 0.5, 0.55, 0.6, 0.65, 0.7, 0.8, 1.0, 1.5];
    let losses: Vec<(f64, f64)> = temps.iter().map(|&t| (t, oof.log_loss(t))).collect();
    let t = TEMPERATURE as f64;
    let grid: Vec<f64> = (1..100).map(|k| k as f64 / 100.0).collect();
    let sweep: Vec<serde_json::Value> = grid
        .iter()
        .filter(|&&x| ((x * 100.0).round() as u32).is_multiple_of(5) || x >= 0.8)
        .map(|&x| shares(&oof.evaluate(t, x)))
        .collect();
    json!({
        "folds": FOLDS,
        "rule": format!("temperature: least out-of-fold log loss; threshold: lowest (in hundredths) with out-of-fold wrong <= {MAX_WRONG}"),
        "chosen_temperature": chosen.temperature,
        "chosen_threshold": chosen.threshold,
        "embedded_temperature": TEMPERATURE,
        "embedded_threshold": DEFAULT_THRESHOLD,
        "top1_accuracy": chosen.top1,
        "at_chosen": shares(&oof.evaluate(chosen.temperature as f64, chosen.threshold)),
        "log_loss_by_temperature": losses,
        "sweep_at_model_temperature": sweep,
    })
}

fn main() {
    let held = heldout();
    let model = Model::embedded();
    let at_default = evaluate(&model, &held, DEFAULT_THRESHOLD);
    let sweep: Vec<serde_json::Value> = SWEEP.iter().map(|&t| shares(&evaluate(&model, &held, t))).collect();
    let confused: Vec<serde_json::Value> =
        at_default.confusion.iter().take(10).map(|(t, p, n)| json!({"true": t, "predicted": p, "count": n})).collect();

    let mut latencies: Vec<f64> = held
        .iter()
        .map(|e| {
            let t = Instant::now();
            let m = Model::from_bytes(EMBEDDED_BYTES).expect("embedded model");
            std::hint::black_box(m.classify(&e.text));
            t.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    latencies.sort_by(f64::total_cmp);

    let big = ten_thousand();
    let t = Instant::now();
    let bytes = train(&big, "report-10k");
    let train_10k = t.elapsed().as_secs_f64();

    let cv = if std::env::args().any(|a| a == "--no-cv") { serde_json::Value::Null } else { cross_validation() };
    let report = json!({
        "model_version": model.version(),
        "build": wangge_triage::BUILD_REPORT.trim(),
        "heldout_total": at_default.total,
        "heldout_top1_accuracy": at_default.top1_accuracy,
        "header_heldout_accuracy": model.heldout_accuracy(),
        "default_threshold": DEFAULT_THRESHOLD,
        "at_default": shares(&at_default),
        "sweep": sweep,
        "most_confused": confused,
        "model_size_bytes": model.size(),
        "classify_latency_us": {"p50": percentile(&latencies, 0.5), "p99": percentile(&latencies, 0.99)},
        "train_10k_seconds": train_10k,
        "train_10k_model_bytes": bytes.len(),
        "cross_validation_on_corpus": cv,
    });
    println!("{}", serde_json::to_string_pretty(&report).expect("json"));
}
