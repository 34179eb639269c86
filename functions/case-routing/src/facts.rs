//! `GET /internal/facts?from=&to=`: newline-delimited JSON, one line per case, exactly
//! what assessment needs ([`wangge_cases::api::CaseFacts`]), then the trailer
//! `{"end": true, "cases": N}` ([`wangge_cases::api::FactsEnd`]) declaring how many fact
//! lines went out, or, when storage fails mid-stream, an error line
//! ([`wangge_cases::api::FactsInterrupted`]) instead. Assessment reads it with
//! [`wangge_cases::api::FactsReader`], which refuses a count that does not match and a
//! stream without its trailer. Streamed page by page, so a year of a city never sits in
//! memory.

use futures::SinkExt;
use spin_sdk::http::{Fields, IncomingRequest, OutgoingResponse, ResponseOutparam};
use wangge_cases::api::{FactsEnd, FactsInterrupted};
use wangge_cases::store;
use wangge_core::{ErrorCode, Problem};
use wangge_spin::Req;
use wangge_spin::reply::fail;

use crate::COMPONENT;

/// Cases read per page.
const PAGE: usize = 2000;

pub async fn stream(incoming: IncomingRequest, out: ResponseOutparam) {
    let req = Req::new(incoming);
    if let Err(p) = wangge_spin::chain::admit(&req) {
        return fail(out, &req, &COMPONENT, p).await;
    }
    let request_id = req.request_id.clone();
    let period = |name: &str| {
        req.query_param(name).and_then(|t| wangge_core::time::parse(&t)).map(wangge_core::time::render).ok_or_else(
            || {
                Problem::new(ErrorCode::InvalidParameter)
                    .with_detail(format!("{name} is an RFC 3339 time"), format!("{name} 应为 RFC 3339 时间"))
                    .with_extension("parameter", name)
            },
        )
    };
    let (from, to) = match (period("from"), period("to")) {
        (Ok(from), Ok(to)) => (from, to),
        (Err(p), _) | (_, Err(p)) => return fail(out, &req, &COMPONENT, p).await,
    };
    let db = match COMPONENT.db_for_reads() {
        Ok(db) => db,
        Err(p) => return fail(out, &req, &COMPONENT, p).await,
    };
    // The first page decides the status: a storage error before any line is a 503.
    let merged_only = req.query_param("merged_only").is_some_and(|v| v == "true");
    let mut page = match store::facts_page_of(&db, &from, &to, "", PAGE, merged_only) {
        Ok(page) => page,
        Err(e) => return fail(out, &req, &COMPONENT, e.into()).await,
    };
    let headers = Fields::from_list(&[
        ("content-type".to_owned(), b"application/x-ndjson".to_vec()),
        ("x-request-id".to_owned(), request_id.into_bytes()),
    ]);
    let Ok(headers) = headers else { return };
    let response = OutgoingResponse::new(headers);
    let mut body = response.take_body();
    out.set(response);
    let mut lines = 0u64;
    loop {
        let mut chunk = Vec::with_capacity(page.len() * 512);
        for facts in &page {
            if serde_json::to_writer(&mut chunk, facts).is_ok() {
                chunk.push(b'\n');
                lines += 1;
            }
        }
        if body.send(chunk).await.is_err() {
            return;
        }
        let Some(last) = page.last().map(|f| f.case_id.clone()).filter(|_| page.len() == PAGE) else { break };
        page = match store::facts_page_of(&db, &from, &to, &last, PAGE, merged_only) {
            Ok(page) => page,
            Err(e) => {
                // Mid-stream, the status has gone out: end with an error line the reader checks.
                let line = FactsInterrupted { error: "storage_unavailable".into(), detail: e.to_string(), after: last };
                let _ = body.send(ndjson(&line)).await;
                return;
            }
        };
    }
    let _ = body.send(ndjson(&FactsEnd { end: true, cases: lines })).await;
}

/// One line of the stream.
fn ndjson(line: &impl serde::Serialize) -> Vec<u8> {
    let mut bytes = serde_json::to_vec(line).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}
