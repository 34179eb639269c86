//! `/v1/notifications`: dispatching the outbox, tracing a case's messages, dead letters.

use std::collections::HashMap;

use serde_json::{Value, json};
use wangge_core::auth::Scope;
use wangge_core::page::{PageRequest, next_cursor};
use wangge_core::privacy::mask_phone;
use wangge_core::{ErrorCode, Problem};
use wangge_notify::route::{Channel, Contact, channels};
use wangge_notify::store::{self, Delivery, Outcome, Plan};
use wangge_registry::api::{ContactsWanted, StaffContacts};
use wangge_spin::chain;
use wangge_spin::db::Db;
use wangge_spin::{Reply, Req, json};

use crate::COMPONENT;
use crate::channels::{Settings, TokenRefused, send, token_refused_after_refresh, wechat_token};

/// How long a claim holds before another dispatcher may take the delivery over.
const LEASE_SECONDS: i64 = 60;
/// Sends in flight at once within one dispatch.
const CONCURRENCY: usize = 16;

fn jitter() -> f64 {
    let mut bytes = [0u8; 8];
    match getrandom::fill(&mut bytes) {
        Ok(()) => (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 0.5,
    }
}

/// The staff directory (grid-lookup): staff by id, and the staff of grids. None when
/// grid-lookup does not answer: those messages wait for the next pass.
struct Directory {
    by_id: HashMap<String, Contact>,
    by_grid: HashMap<String, Vec<(String, Contact)>>,
}

async fn directory(ids: Vec<String>, grids: Vec<String>, req: &Req) -> Option<Directory> {
    let mut found = Directory { by_id: HashMap::new(), by_grid: HashMap::new() };
    if ids.is_empty() && grids.is_empty() {
        return Some(found);
    }
    let wanted = ContactsWanted { ids, grids };
    let contacts = chain::ask::<StaffContacts>(&wanted, &req.request_id, req.lang).await.ok()?;
    for s in contacts.staff {
        let some = |v: String| Some(v).filter(|v| !v.is_empty());
        let contact = Contact { phone: some(s.phone), wechat_openid: some(s.wechat_openid) };
        if !s.grid_code.is_empty() {
            found.by_grid.entry(s.grid_code).or_default().push((s.staff_id.clone(), contact.clone()));
        }
        found.by_id.insert(s.staff_id, contact);
    }
    Some(found)
}

/// `POST /v1/notifications/dispatch?limit=` (`scheduler`): resolves new messages into
/// deliveries, claims what is due, sends it, and records every try. Safe to run
/// concurrently with itself: a delivery is claimed in a transaction before it is sent.
pub async fn dispatch(req: Req) -> Reply {
    req.require(Scope::Scheduler)?;
    let limit = wangge_core::page::limit(&req.query, 200, 1000)?;
    let settings = Settings::load();
    let db = COMPONENT.db()?;
    let now = wangge_core::time::now_utc();
    // 1. Who.
    let plans = plan(&db, limit, now, &req).await?;
    let (made, unreachable) = store::expand(&db, &plans, now)?;
    // 2. Claim, 3. send, 4. record.
    let claim = req.request_id.clone();
    let claimed = store::claim(&db, &claim, now, limit, chrono::Duration::seconds(LEASE_SECONDS))?;
    let outcomes = send_claimed(&settings, &claimed, &wangge_core::time::render(now)).await;
    let tally = store::record(&db, &claim, &outcomes, wangge_core::time::now_utc(), &settings.retry, &mut jitter)?;
    let (due, waiting) = store::backlog(&db, wangge_core::time::now_utc())?;
    let more = due > 0 || store::unresolved(&db, 1)?.len() == 1;
    Ok(json(
        200,
        &json!({
            "resolved": plans.len(),
            "deliveries_made": made,
            "unreachable": unreachable,
            "claimed": claimed.len(),
            "delivered": tally.delivered,
            "retried": tally.retried,
            "dead": tally.dead,
            "due_now": due,
            "waiting": waiting,
            "more": more,
        }),
    ))
}

/// Who each new message reaches, and how: reporters carry their contact; staff, and a
/// grid's staff, are looked up in the staff directory (when it does not answer, their
/// messages wait for the next pass).
async fn plan(db: &Db, limit: usize, now: chrono::DateTime<chrono::Utc>, req: &Req) -> Result<Vec<Plan>, Problem> {
    let messages = store::unresolved(db, limit)?;
    let wanted = |kind: &str| -> Vec<String> {
        messages.iter().filter(|m| m.recipient_kind == kind).map(|m| m.recipient_id.clone()).collect()
    };
    let directory = directory(wanted("staff"), wanted("grid"), req).await;
    let mut plans = Vec::new();
    for m in &messages {
        let deliveries = match (m.recipient_kind.as_str(), &directory) {
            ("staff" | "grid", None) => continue,
            ("staff", Some(d)) => {
                let contact = d.by_id.get(&m.recipient_id).cloned().unwrap_or_default();
                channels("staff", &m.recipient_id, m.urgent, &contact)
            }
            ("grid", Some(d)) => d
                .by_grid
                .get(&m.recipient_id)
                .into_iter()
                .flatten()
                .flat_map(|(id, contact)| channels("staff", id, m.urgent, contact))
                .collect(),
            _ => {
                let contact = Contact { phone: m.phone.clone(), wechat_openid: m.wechat_openid.clone() };
                channels(&m.recipient_kind, &m.recipient_id, m.urgent, &contact)
            }
        };
        plans.push(Plan {
            message_id: m.id.clone(),
            case_id: m.case_id.clone(),
            urgent: m.urgent,
            deliveries,
            not_before: store::not_before(&m.recipient_kind, m.urgent, now),
        });
    }
    Ok(plans)
}

/// One try of each claimed delivery, [`CONCURRENCY`] at a time. One WeChat access token
/// for the pass (cached for two hours); if WeChat refuses it, one new one, and the
/// refused deliveries are tried again with it.
async fn send_claimed<'a>(settings: &Settings, claimed: &'a [Delivery], at: &str) -> Vec<(&'a Delivery, Outcome)> {
    let wechat = settings.wechat.as_deref().filter(|_| claimed.iter().any(|d| d.channel == Channel::Wechat));
    let mut token = match wechat {
        Some(origin) => wechat_token(origin, false).await,
        None => Err("no WeChat delivery".into()),
    };
    let mut refreshed = false;
    let mut outcomes = Vec::with_capacity(claimed.len());
    for chunk in claimed.chunks(CONCURRENCY) {
        let mut sent = send_all(settings, chunk, &token, at).await;
        if let Some(origin) = wechat
            && sent.iter().any(|(_, r)| r.is_err())
        {
            if !refreshed {
                token = wechat_token(origin, true).await;
                refreshed = true;
            }
            let refused: Vec<&Delivery> = sent.iter().filter(|(_, r)| r.is_err()).map(|(d, _)| *d).collect();
            let again = send_all(settings, refused, &token, at).await;
            sent.retain(|(_, r)| r.is_ok());
            sent.extend(again);
        }
        outcomes.extend(sent.into_iter().map(|(d, r)| (d, r.unwrap_or_else(|_| token_refused_after_refresh()))));
    }
    outcomes
}

/// Addresses are personal data (phones, openids): masked unless the key administers
/// notifications.
fn mask(mut value: Value, whole: bool) -> Value {
    if whole {
        return value;
    }
    let masked = |channel: &str, address: &str| match channel {
        "sms" => mask_phone(address),
        "wechat" => format!("{}****", address.chars().take(4).collect::<String>()),
        _ => address.to_owned(),
    };
    let fix = |d: &mut Value| {
        let (Some(channel), Some(address)) = (d["channel"].as_str(), d["address"].as_str()) else { return };
        d["address"] = masked(channel, address).into();
    };
    if let Some(deliveries) = value.get_mut("deliveries").and_then(Value::as_array_mut) {
        deliveries.iter_mut().for_each(fix);
    } else {
        fix(&mut value);
    }
    value
}

/// `GET /v1/notifications?case_id=` (`notifications:read`): each message of a case,
/// its deliveries, and every try with its outcome.
pub fn trace(req: Req) -> Reply {
    let principal = req.require_any(&[Scope::NotificationsRead, Scope::NotificationsAdmin])?;
    let Some(case_id) = req.query_param("case_id").filter(|c| !c.is_empty()) else {
        return Err(Problem::new(ErrorCode::InvalidParameter)
            .with_detail("case_id is required", "缺少 case_id")
            .with_extension("parameter", "case_id"));
    };
    let db = COMPONENT.db_for_reads()?;
    let whole = principal.has_scope(Scope::NotificationsAdmin);
    let messages: Vec<Value> =
        store::trace(&db, &principal.region_prefix, &case_id)?.into_iter().map(|m| mask(m, whole)).collect();
    Ok(json(200, &json!({ "case_id": case_id, "messages": messages })))
}

/// `GET /v1/notifications/dead?limit=&cursor=` (`notifications:read`).
pub fn dead(req: Req) -> Reply {
    let principal = req.require_any(&[Scope::NotificationsRead, Scope::NotificationsAdmin])?;
    let page = PageRequest::from_query(&req.query)?;
    let db = COMPONENT.db_for_reads()?;
    let mut items = store::dead(&db, &principal.region_prefix, page.after.as_deref().unwrap_or(""), page.limit + 1)?;
    let next = next_cursor(&mut items, page.limit, |d| d["id"].as_str());
    let whole = principal.has_scope(Scope::NotificationsAdmin);
    let items: Vec<Value> = items.into_iter().map(|d| mask(d, whole)).collect();
    Ok(json(200, &json!({ "items": items, "next_cursor": next })))
}

/// `POST /v1/notifications/dead/{id}/requeue` (`notifications:admin`): due now, tries
/// counted afresh.
pub fn requeue(req: Req, id: &str) -> Reply {
    let principal = req.require(Scope::NotificationsAdmin)?;
    let db = COMPONENT.db()?;
    if store::requeue(&db, &principal.region_prefix, id, wangge_core::time::now_utc())? {
        Ok(json(200, &json!({ "id": id, "state": "pending" })))
    } else {
        Err(Problem::new(ErrorCode::NotFound)
            .with_detail(format!("no dead delivery `{id}`"), format!("没有死信 `{id}`")))
    }
}

/// One try of each delivery, at most [`CONCURRENCY`] at once.
async fn send_all<'a>(
    settings: &Settings,
    deliveries: impl IntoIterator<Item = &'a Delivery>,
    token: &Result<String, String>,
    at: &str,
) -> Vec<(&'a Delivery, Result<Outcome, TokenRefused>)> {
    futures::future::join_all(deliveries.into_iter().map(|d| async move { (d, send(settings, d, token, at).await) }))
        .await
}
