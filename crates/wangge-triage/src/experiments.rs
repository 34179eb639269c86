//! Cross-validation experiments (run by hand: `cargo test --release -p wangge-triage --lib
//! experiments -- --ignored --nocapture`).

use crate::eval::{OutOfFold, evaluate_classified, out_of_fold_with};
use crate::learn::{CONFIG, Config};
use crate::{Classification, Model, classification_from_scores, corpus, heldout};

#[derive(Clone, Copy, Debug)]
enum Score {
    Softmax,
    Margin,
}

fn classify(scores: &[f64], codes: &[&str], t: f64, kind: Score) -> Classification {
    let mut c = classification_from_scores(scores, codes, t);
    if let Score::Margin = kind {
        let second = c.suggestions.get(1).map_or(0.0, |s| s.score);
        c.confidence -= second;
    }
    c
}

fn best_temperature(oof: &OutOfFold) -> f64 {
    let mut best = (f64::INFINITY, 1.0);
    for k in 4..=40 {
        let t = k as f64 * 0.05;
        let l = oof.log_loss(t);
        if l < best.0 {
            best = (l, t);
        }
    }
    best.1
}

fn run(name: &str, cfg: &Config, folds: usize) {
    let started = std::time::Instant::now();
    let corpus = corpus();
    let oof = out_of_fold_with(&corpus, folds, cfg);
    let t = best_temperature(&oof);
    let codes: Vec<&str> = oof.categories.iter().map(String::as_str).collect();
    let mut parts = crate::learn::train_with(
        &corpus
            .iter()
            .map(|e| (e.text.as_str(), codes.iter().position(|c| *c == e.category).unwrap()))
            .collect::<Vec<_>>(),
        &oof.categories,
        cfg,
    );
    parts.version = "x".into();
    let bytes = crate::format::encode(&parts);
    let model = Model::from_bytes(&bytes).unwrap();
    let held = heldout();
    let held_scores: Vec<Vec<f64>> = held.iter().map(|e| model.scores(&e.text)).collect();
    for kind in [Score::Softmax, Score::Margin] {
        let pairs: Vec<(Classification, &str)> =
            oof.scores.iter().map(|(s, truth)| (classify(s, &codes, t, kind), truth.as_str())).collect();
        let grid = (0..=200).map(|k| k as f64 / 200.0);
        let mut chosen = 1.0;
        for x in grid {
            if evaluate_classified(&pairs, x).wrong_share <= 0.03 {
                chosen = x;
                break;
            }
        }
        let o = evaluate_classified(&pairs, chosen);
        let hp: Vec<(Classification, &str)> = held_scores
            .iter()
            .zip(&held)
            .map(|(s, e)| (classify(s, model.categories(), t, kind), e.category.as_str()))
            .collect();
        let h = evaluate_classified(&hp, chosen);
        println!(
            "{name:28} f{folds:2} {kind:8?} T={t:.2} thr={chosen:.3} | CV top1 {:.3} right {:.3} wrong {:.3} top3 {:.3} | HO top1 {:.3} right {:.3} wrong {:.3} centre {:.3} top3 {:.3} | {} B {:.1}s",
            o.top1_accuracy,
            o.right_share,
            o.wrong_share,
            o.centre_top3_share,
            h.top1_accuracy,
            h.right_share,
            h.wrong_share,
            h.centre_share,
            h.centre_top3_share,
            bytes.len(),
            started.elapsed().as_secs_f64()
        );
    }
}

#[test]
#[ignore]
fn experiments() {
    let only = std::env::var("EXP").unwrap_or_default();
    let configs: Vec<(&str, Config, usize)> = vec![
        ("final", CONFIG, 10),
        ("ep10", Config { epochs: 10, ..CONFIG }, 10),
        ("ep15", Config { epochs: 15, ..CONFIG }, 10),
        ("ep10 rate6", Config { epochs: 10, rate: 6.0, ..CONFIG }, 10),
    ];
    for (name, cfg, folds) in configs {
        if only.is_empty() || name.contains(&only) {
            run(name, &cfg, folds);
        }
    }
}

#[test]
#[ignore]
fn load_and_classify_times() {
    let held = heldout();
    let mut load = Vec::new();
    let mut classify = Vec::new();
    for e in &held {
        let t = std::time::Instant::now();
        let m = Model::from_bytes(crate::EMBEDDED_BYTES).unwrap();
        load.push(t.elapsed().as_secs_f64() * 1e6);
        let t = std::time::Instant::now();
        std::hint::black_box(m.classify(&e.text));
        classify.push(t.elapsed().as_secs_f64() * 1e6);
    }
    load.sort_by(f64::total_cmp);
    classify.sort_by(f64::total_cmp);
    let p = |v: &[f64], q: f64| v[((v.len() - 1) as f64 * q) as usize];
    println!(
        "load p50 {:.0} p99 {:.0} us; classify p50 {:.0} p99 {:.0} us",
        p(&load, 0.5),
        p(&load, 0.99),
        p(&classify, 0.5),
        p(&classify, 0.99)
    );
}
