//! Smart dispatch (智能派单): the classifier intake places texts with, and its two routes.
//!
//! - `GET /v1/triage/model` (`events:read`): the model in use (version, training size,
//!   held-out accuracy, size, threshold) and the stored versions.
//! - `POST /v1/triage/retrain` (`scheduler`): trains on the corpus plus the centre's
//!   corrections (read from case-routing's [`Corrections`]), stores the new version, and
//!   makes it current unless it is worse on the held-out split (by more than
//!   [`store::WORSE_BY`]).
//!
//! A stored model is checked each time it is loaded; a corrupted one is refused, logged,
//! and the build's embedded model serves instead.

use serde_json::{Value, json};
use spin_sdk::variables;
use wangge_cases::api::{Corrections, CorrectionsRequest};
use wangge_core::auth::Scope;
use wangge_core::{ErrorCode, Lang, Problem};
use wangge_intake::triage::{self as store, Classifier, Kept, ModelRecord, Previous, TrainingSet};
use wangge_spin::chain::{Failure, ask};
use wangge_spin::{Reply, Req, json};
use wangge_triage::Model;

use crate::COMPONENT;

/// Corrections read from case-routing per call, and at most in one retrain.
const CORRECTIONS_PAGE: u32 = 1000;
const MAX_CORRECTIONS: usize = 100_000;
/// Stored versions `GET /v1/triage/model` lists.
const HISTORY: u32 = 20;

/// The confidence below which the centre decides: the Spin variable `triage_threshold`, or
/// the model's default. A value that is not a number in 0..=1 is logged and not used.
pub fn threshold(request_id: &str) -> f64 {
    let Some(text) = variables::get("triage_threshold").ok().filter(|v| !v.trim().is_empty()) else {
        return wangge_triage::DEFAULT_THRESHOLD;
    };
    store::parse_threshold(&text).unwrap_or_else(|| {
        let fields = json!({ "value": text, "used": wangge_triage::DEFAULT_THRESHOLD });
        wangge_spin::log::event(COMPONENT.name, request_id, "warn", "triage_threshold_invalid", fields);
        wangge_triage::DEFAULT_THRESHOLD
    })
}

/// The current retrained model's record and bytes, if one is current.
pub type Stored = Option<(ModelRecord, Vec<u8>)>;

/// Reads the current retrained model (one row; none means the embedded model).
pub fn stored(db: &impl wangge_core::migrations::Sql) -> Result<Stored, Problem> {
    Ok(store::current(db)?)
}

/// The model to place with: the stored one if its bytes check, else the embedded one, with a
/// log line saying why.
pub fn model<'a>(stored: &'a Stored, request_id: &str) -> Model<'a> {
    loaded(stored, request_id).0
}

/// [`model`], and the refused stored model's version and why, when there was one.
fn loaded<'a>(stored: &'a Stored, request_id: &str) -> (Model<'a>, Option<Value>) {
    let Some((record, bytes)) = stored else {
        return (Model::embedded(), None);
    };
    match Model::from_bytes(bytes) {
        Ok(model) => (model, None),
        Err(refused) => {
            let fields = json!({
                "version": record.version,
                "reason": refused.to_string(),
                "serving": Model::embedded().version(),
            });
            wangge_spin::log::event(COMPONENT.name, request_id, "error", "triage_model_refused", fields);
            (Model::embedded(), Some(json!({ "version": record.version, "reason": refused.to_string() })))
        }
    }
}

/// The classifier for one request.
pub fn classifier<'a>(stored: &'a Stored, request_id: &str) -> Classifier<'a> {
    Classifier { model: model(stored, request_id), threshold: threshold(request_id) }
}

/// `GET /v1/triage/model` (`events:read`).
pub fn get(req: Req) -> Reply {
    req.require(Scope::EventsRead)?;
    let db = COMPONENT.db_for_reads()?;
    let stored = stored(&db)?;
    let (model, refused) = loaded(&stored, &req.request_id);
    let created_at = stored.as_ref().filter(|_| refused.is_none()).map(|(r, _)| r.created_at.clone());
    let history: Vec<Value> = store::history(&db, HISTORY)?.iter().map(record_json).collect();
    Ok(json(
        200,
        &json!({
            "version": model.version(),
            "source": if stored.is_some() && refused.is_none() { "retrained" } else { "embedded" },
            "created_at": created_at,
            "training_size": model.training_size(),
            "heldout_accuracy": model.heldout_accuracy(),
            "size_bytes": model.size(),
            "threshold": threshold(&req.request_id),
            "embedded": { "version": Model::embedded().version(), "heldout_accuracy": Model::embedded().heldout_accuracy() },
            "refused": refused,
            "history": history,
        }),
    ))
}

fn record_json(r: &ModelRecord) -> Value {
    json!({
        "version": r.version,
        "created_at": r.created_at,
        "training_size": r.training_size,
        "corrections": r.corrections,
        "heldout_accuracy": r.heldout_accuracy,
        "current": r.current,
        "size_bytes": r.size,
    })
}

/// `POST /v1/triage/retrain` (`scheduler`) → 201 with the new version, its held-out figures,
/// and whether it was made current (and if not, why).
pub async fn retrain(req: Req) -> Reply {
    req.require(Scope::Scheduler)?;
    let started = std::time::Instant::now();
    let corrections = corrections(&req.request_id, req.lang).await?;
    let heldout = wangge_triage::heldout();
    let set = store::training_set(
        wangge_triage::corpus(),
        &heldout,
        corrections.iter().map(|(text, category)| (text.as_str(), category.as_str())),
    );
    let now = wangge_core::time::now_utc();
    let version = format!("{}-{}", now.format("%Y%m%dT%H%M%S"), &wangge_core::ids::new_id()[24..]);
    let bytes = wangge_triage::train(&set.examples, &version);
    let model = Model::from_bytes(&bytes).map_err(|e| {
        Problem::new(ErrorCode::Internal).with_cause(format!("a model just trained does not load: {e}"))
    })?;
    let evaluation = wangge_triage::evaluate(&model, &heldout, threshold(&req.request_id));
    let trained_seconds = started.elapsed().as_secs_f64();
    let record = ModelRecord {
        version: version.clone(),
        created_at: wangge_core::time::render(now),
        training_size: set.examples.len() as i64,
        corrections: set.corrections_used as i64,
        heldout_accuracy: evaluation.top1_accuracy,
        current: false,
        size: bytes.len() as i64,
    };
    let embedded = Model::embedded();
    let baseline = Previous { version: embedded.version().to_owned(), heldout_accuracy: embedded.heldout_accuracy() };
    let (kept, previous) = store::keep(&COMPONENT.db()?, &record, &bytes, baseline)?;
    Ok(json(201, &answer(&record, &set, &evaluation, (kept, previous), trained_seconds)))
}

/// The retrain's answer.
fn answer(
    record: &ModelRecord,
    set: &TrainingSet,
    evaluation: &wangge_triage::Evaluation,
    (kept, previous): (Kept, Previous),
    trained_seconds: f64,
) -> Value {
    let current = kept == Kept::MadeCurrent;
    json!({
        "version": record.version,
        "current": current,
        "detail": if current {
            format!("{} is now current: held-out accuracy {:.4}, against {:.4} for {}", record.version, record.heldout_accuracy, previous.heldout_accuracy, previous.version)
        } else {
            format!(
                "{} is stored but not current: its held-out accuracy {:.4} is worse than {:.4} for {} by more than {}, and {} stays current",
                record.version, record.heldout_accuracy, previous.heldout_accuracy, previous.version, store::WORSE_BY, previous.version
            )
        },
        "previous": { "version": previous.version, "heldout_accuracy": previous.heldout_accuracy },
        "training_size": record.training_size,
        "corrections": { "used": set.corrections_used, "held_out": set.corrections_held_out },
        "heldout": {
            "total": evaluation.total,
            "accuracy": evaluation.top1_accuracy,
            "placed_right": evaluation.right_share,
            "placed_wrong": evaluation.wrong_share,
            "to_centre": evaluation.centre_share,
            "centre_top3": evaluation.centre_top3_share,
        },
        "size_bytes": record.size,
        "seconds": (trained_seconds * 1000.0).round() / 1000.0,
    })
}

/// Every correction the centre made (改类), oldest first, as `(text, category)`.
async fn corrections(request_id: &str, lang: Lang) -> Result<Vec<(String, String)>, Problem> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let request = CorrectionsRequest { after, limit: CORRECTIONS_PAGE };
        let page = ask::<Corrections>(&request, request_id, lang).await.map_err(|failure| {
            let why = match failure {
                Failure::Refused { status, .. } => format!("case-routing refused the corrections ({status})"),
                Failure::Unavailable(why) => why,
            };
            Problem::new(ErrorCode::DependencyUnavailable)
                .with_detail(
                    "case-routing, which keeps the centre's corrections, did not answer: nothing was trained; try again",
                    "保存指挥中心改类记录的案件服务未响应：未训练，请稍后重试",
                )
                .with_cause(why)
        })?;
        out.extend(page.items.into_iter().map(|c| (c.text, c.to_category)));
        match page.next {
            Some(next) if out.len() < MAX_CORRECTIONS => after = next,
            _ => return Ok(out),
        }
    }
}
