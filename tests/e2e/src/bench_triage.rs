//! `scripts/bench.sh --only triage`: smart dispatch (智能派单) measured.
//!
//! - The embedded model on the held-out split at the default threshold: top-1 accuracy, the
//!   shares placed right, placed wrongly and sent to the centre, how often the centre's three
//!   suggestions hold the right category, and the ten most confused pairs.
//! - Its size, against the 2 MiB budget, and the corpus texts the component embeds to retrain.
//! - Classification in the component: hotline orders with no category hint, one per request,
//!   paced, with the component's own `triage` and `triage-load` stages (`Server-Timing`), beside
//!   the same orders with a hint (no classification) in the same run.
//! - Retraining: natively on 10,000 examples, and in the component on the corpus
//!   (`POST /v1/triage/retrain`), with the 10,000-example time in the component estimated by
//!   the ratio of the two engines on the corpus.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use wangge_triage::{DEFAULT_THRESHOLD, Example, Model};

use crate::load::{self, Figure, fire};
use crate::{OPERATOR_KEY, Suite, bearer, call};

/// Where the bench's orders are: a standard address of the demo city.
const ADDRESS: &str = "江苏省南通市崇川区新江街道建设街24号";
/// The paced rate of the component runs, orders per second.
pub const RATE: f64 = 20.0;

/// The report, and the component's three paced figures (hinted, classified, classified with a
/// retrained model current).
pub fn figures(suite: &Suite, duration: Duration) -> (String, Vec<Figure>) {
    let paced = |what: &str, hinted: bool| {
        let name = format!("hotline order, {what}, 1 client at {RATE}/s");
        load::run_paced(&name, 1, RATE, duration, order_shot(suite, hinted))
    };
    let mut out = vec![heldout_report(), size_report(), native_latency()];
    let hinted = paced("with a hint (no classification)", true);
    let classified = paced("no hint (classified)", false);
    out.push(stages_line("with the embedded model", &classified));
    out.push(format!(
        "  whole request in the component: p50 {:.2} ms, p99 {:.2} ms classified, against p50 {:.2} ms, p99 {:.2} ms with a hint",
        classified.app_p50_ms.unwrap_or_default(),
        classified.app_p99_ms.unwrap_or_default(),
        hinted.app_p50_ms.unwrap_or_default(),
        hinted.app_p99_ms.unwrap_or_default(),
    ));
    out.push(retrain_report(suite));
    // The retrain above is current now (the corpus alone: no worse than the embedded model), so
    // each request reads its row and checks its bytes.
    let retrained = paced("no hint, a retrained model current", false);
    out.push(stages_line("with a retrained model current", &retrained));
    (out.join("\n"), vec![hinted, classified, retrained])
}

/// The component's own stages of a classified run: the classification (goal p99 ≤ 1 ms), reading
/// the current model's row, and loading the model.
fn stages_line(what: &str, figure: &Figure) -> String {
    let stage = |name: &str| figure.stages.iter().find(|(n, _, _)| n == name).map(|(_, p50, p99)| (*p50, *p99));
    let (t50, t99) = stage("triage").unwrap_or_default();
    let (r50, r99) = stage("triage-read").unwrap_or_default();
    let (l50, l99) = stage("triage-load").unwrap_or_default();
    format!(
        "  in the component (wasm), {what}, per order: classification p50 {t50:.3} ms, p99 {t99:.3} ms (goal: p99 ≤ 1 \
         ms); reading the current model's row p50 {r50:.3} ms, p99 {r99:.3} ms; loading the model p50 {l50:.3} ms, \
         p99 {l99:.3} ms"
    )
}

/// One hotline order per request, a held-out text each (hinted with its true category, or not).
fn order_shot(suite: &Suite, hinted: bool) -> Arc<load::Shot> {
    let texts: Arc<Vec<Example>> = Arc::new(wangge_triage::heldout());
    let url = suite.url("/v1/hotline/work-orders");
    let auth = bearer(OPERATOR_KEY);
    let run = wangge_core::ids::new_id();
    Arc::new(move |agent: &ureq::Agent, i: usize| {
        let example = &texts[i % texts.len()];
        let mut order = json!({
            "order_no": format!("bench-{}-{}-{i}", &run[24..], hinted),
            "request_type": "投诉",
            "caller": { "name": "测试", "phone": "13800000000" },
            "address": ADDRESS,
            "content": example.text,
            "received_at": wangge_core::time::render(wangge_core::time::now_utc()),
        });
        if hinted {
            order["category_hint"] = example.category.clone().into();
        }
        let body = json!({ "orders": [order] }).to_string();
        fire(
            agent
                .post(&url)
                .header("authorization", &auth)
                .header("content-type", "application/json")
                .send(body.as_str()),
            &[200],
        )
    })
}

/// The held-out figures at the default threshold and the ten most confused pairs.
fn heldout_report() -> String {
    let model = Model::embedded();
    let heldout = wangge_triage::heldout();
    let e = wangge_triage::evaluate(&model, &heldout, DEFAULT_THRESHOLD);
    let names = category_names();
    let name = |code: &str| names.iter().find(|(c, _)| c == code).map(|(_, n)| n.as_str()).unwrap_or("");
    let mut lines = vec![
        format!("triage ({}), held-out split: {} texts never trained on", model.version(), e.total),
        format!("  top-1 accuracy {:.1} %", e.top1_accuracy * 100.0),
        format!(
            "  at the default threshold {DEFAULT_THRESHOLD}: placed right {:.1} % (goal ≥ 90 %), placed wrongly {:.1} % \
             (goal ≤ 3 %), to the centre {:.1} %, of which the right category among the three suggestions {:.1} % \
             (goal ≥ 95 %)",
            e.right_share * 100.0,
            e.wrong_share * 100.0,
            e.centre_share * 100.0,
            e.centre_top3_share * 100.0
        ),
    ];
    for threshold in [0.5, 0.6, 0.7, 0.8, 0.9, 0.95] {
        let t = wangge_triage::evaluate(&model, &heldout, threshold);
        lines.push(format!(
            "    threshold {threshold:.2}: right {:.1} %, wrong {:.1} %, centre {:.1} % (top-3 {:.1} %)",
            t.right_share * 100.0,
            t.wrong_share * 100.0,
            t.centre_share * 100.0,
            t.centre_top3_share * 100.0
        ));
    }
    lines.push("  the ten most confused pairs (true → predicted, top-1):".to_owned());
    for (truth, predicted, n) in e.confusion.iter().take(10) {
        lines.push(format!("    {truth} {} → {predicted} {}: {n}", name(truth), name(predicted)));
    }
    lines.join("\n")
}

fn category_names() -> Vec<(String, String)> {
    let path = crate::workspace_root().join("data/categories.json");
    let catalogue: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).unwrap_or_default()).unwrap_or(serde_json::Value::Null);
    catalogue["categories"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| Some((c["code"].as_str()?.to_owned(), c["name"].as_str()?.to_owned())))
        .collect()
}

/// The model's size and the corpus the component carries to retrain.
fn size_report() -> String {
    let corpus: usize =
        wangge_triage::corpus().iter().chain(&wangge_triage::heldout()).map(|e| e.text.len() + 32).sum();
    format!(
        "  model size {} bytes ({:.2} MiB, goal ≤ 2 MiB); the corpus and held-out texts embedded to retrain ≈ {} bytes",
        wangge_triage::EMBEDDED_BYTES.len(),
        wangge_triage::EMBEDDED_BYTES.len() as f64 / 1_048_576.0,
        corpus
    )
}

/// Load and classify, natively, as a request does, over every held-out text.
fn native_latency() -> String {
    let heldout = wangge_triage::heldout();
    let mut times: Vec<f64> = Vec::with_capacity(heldout.len() * 5);
    for _ in 0..5 {
        for e in &heldout {
            let started = Instant::now();
            let model = Model::from_bytes(wangge_triage::EMBEDDED_BYTES).expect("the embedded model loads");
            std::hint::black_box(model.classify(&e.text));
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
    }
    times.sort_by(f64::total_cmp);
    let at = |p: f64| times[((times.len() as f64 * p).ceil() as usize).clamp(1, times.len()) - 1];
    format!("  natively, checked load + classify per order: p50 {:.3} ms, p99 {:.3} ms", at(0.5), at(0.99))
}

/// Retraining natively on the corpus and on 10,000 examples, and in the component on the corpus.
fn retrain_report(suite: &Suite) -> String {
    let corpus = wangge_triage::corpus();
    let started = Instant::now();
    std::hint::black_box(wangge_triage::train(&corpus, "bench-corpus"));
    let native_corpus = started.elapsed().as_secs_f64();
    // 10,000 examples: the corpus again and again, each copy's texts varied by a caller's aside.
    let asides = ["", "，麻烦尽快处理", "，已经反映过好几次了", "，请派人来看看", "，谢谢"];
    let ten_thousand: Vec<Example> = (0..10_000)
        .map(|i| {
            let e = &corpus[i % corpus.len()];
            Example {
                text: format!("{}{}", e.text, asides[(i / corpus.len()) % asides.len()]),
                category: e.category.clone(),
            }
        })
        .collect();
    let started = Instant::now();
    std::hint::black_box(wangge_triage::train(&ten_thousand, "bench-10k"));
    let native_10k = started.elapsed().as_secs_f64();
    let reply = call("POST", &suite.url("/v1/triage/retrain"), OPERATOR_KEY, None);
    let answer = reply.json();
    let wasm_corpus = answer["seconds"].as_f64().unwrap_or(f64::NAN);
    format!(
        "  retrain: natively {:.2} s on the corpus ({} examples), {:.2} s on 10,000; in the component {:.2} s on the \
         corpus, so ≈ {:.1} s on 10,000 (goal < 30 s) by the engines' ratio",
        native_corpus,
        corpus.len(),
        native_10k,
        wasm_corpus,
        wasm_corpus * native_10k / native_corpus
    )
}
