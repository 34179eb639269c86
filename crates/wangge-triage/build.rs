//! Calibrates on `data/triage/corpus.jsonl` by cross-validation (the softmax temperature and
//! the default threshold, `calibrate`), trains the embedded model on it with them, measures it
//! on `data/triage/heldout.jsonl`, and writes to OUT_DIR `triage.model`, `temperature.rs`,
//! `threshold.rs` and a one-line `triage.report`. The code is the library's own, included by
//! path.

#[path = "src/calibrate.rs"]
#[allow(dead_code)]
mod calibrate;
#[path = "src/features.rs"]
#[allow(dead_code)]
mod features;
#[path = "src/format.rs"]
#[allow(dead_code)]
mod format;
#[path = "src/learn.rs"]
#[allow(dead_code)]
mod learn;
#[path = "src/model.rs"]
#[allow(dead_code)]
mod model;

use std::path::{Path, PathBuf};

/// The labelled lines of `path`; the text read is copied to OUT_DIR under the same name, and
/// the library embeds that copy, so the corpus it serves is the one its model was trained on
/// even when the file changes during the build.
fn read(path: &Path, out: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    std::fs::write(out.join(path.file_name().expect("a file name")), &text).expect("copy the split");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            let field = |k: &str| v[k].as_str().unwrap_or_else(|| panic!("{line}: no {k}")).to_string();
            (field("text"), field("category"))
        })
        .collect()
}

fn main() {
    let started = std::time::Instant::now();
    let dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("manifest dir"));
    let data = dir.join("../../data/triage");
    for f in ["corpus.jsonl", "heldout.jsonl"] {
        println!("cargo:rerun-if-changed={}", data.join(f).display());
    }
    for f in ["calibrate.rs", "features.rs", "format.rs", "learn.rs", "model.rs"] {
        println!("cargo:rerun-if-changed=src/{f}");
    }
    println!("cargo:rerun-if-changed=build.rs");

    let out = PathBuf::from(std::env::var("OUT_DIR").expect("out dir"));
    let corpus = read(&data.join("corpus.jsonl"), &out);
    let heldout = read(&data.join("heldout.jsonl"), &out);
    let pairs: Vec<(&str, &str)> = corpus.iter().map(|(t, c)| (t.as_str(), c.as_str())).collect();
    let (kept, categories) = learn::prepare(&pairs);
    let cv = calibrate::calibrate(&kept, &categories, &learn::CONFIG);
    let calibrated = std::time::Instant::now();
    let cfg = learn::Config { temperature: cv.temperature, confident_at: Some(cv.threshold as f32), ..learn::CONFIG };
    let mut parts = learn::train_labelled(&pairs, &cfg);
    parts.version = "embedded".into();
    let draft = format::encode(&parts);
    parts.version = format!("embedded-{:08x}", format::checksum(&draft) as u32);

    let model = model::Model::from_bytes(&draft).expect("the trained model reads back");
    let codes = model.categories();
    let right = heldout.iter().filter(|(text, code)| codes[model.top1(text)] == code.as_str()).count();
    parts.heldout_accuracy = right as f64 / heldout.len().max(1) as f64;
    let bytes = format::encode(&parts);
    model::Model::from_bytes(&bytes).expect("the final model reads back");

    std::fs::write(out.join("triage.model"), &bytes).expect("write model");
    std::fs::write(out.join("temperature.rs"), format!("{:?}f32", cv.temperature)).expect("write temperature");
    std::fs::write(out.join("threshold.rs"), format!("{:?}f64", cv.threshold)).expect("write threshold");
    let report = format!(
        "{} trained on {} examples, held-out top-1 {:.4}, {} bytes; {}-fold CV on the corpus: temperature {}, \
         threshold {} (out-of-fold top-1 {:.4}, right {:.4}, wrong {:.4}); calibration {:.2} s, build script {:.2} s\n",
        parts.version,
        corpus.len(),
        parts.heldout_accuracy,
        bytes.len(),
        calibrate::FOLDS,
        cv.temperature,
        cv.threshold,
        cv.top1,
        cv.right,
        cv.wrong,
        (calibrated - started).as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    std::fs::write(out.join("triage.report"), report).expect("write report");
}
