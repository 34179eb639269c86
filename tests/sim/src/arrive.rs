//! Sending the city's arrivals to intake as each client does (mini-programs with an
//! `Idempotency-Key`, the hotline with signed batches, Open311 form posts), retrying as a
//! client that lost the answer does, and reading back what each became.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::client::Client;
use crate::system::Keys;
use crate::traffic::{Arrival, Sent};

/// What became of one report.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// Made a case (or merged into one): the case as intake or case-routing answered.
    Made { sent: Sent, event_id: String, answer: Made },
    /// Stored and queued (`202`): it becomes a case when the functions behind intake answer.
    Queued { sent: Sent, event_id: String },
    /// A refusal or answer the driver did not expect: a ledger failure.
    Anomaly(String),
}

/// The parts of a made case the driver keeps.
#[derive(Debug, Clone)]
pub struct Made {
    pub state: String,
    pub merged_into: Option<String>,
    pub responsible: String,
    pub comprehensive: String,
    pub community: String,
}

/// Counts of what sending met.
#[derive(Debug, Default, Clone)]
pub struct Counts {
    /// Requests sent again after a lost or failed answer, or as a client's retry.
    pub retries: usize,
    /// Retries answered with the first answer (`Idempotent-Replayed`, `"replayed": true`).
    pub replays: usize,
}

/// Sends one arrival; returns what each report in it became.
pub fn send(client: &Client, keys: &Keys, now: DateTime<Utc>, arrival: Arrival, counts: &mut Counts) -> Vec<Outcome> {
    match arrival {
        Arrival::Event { body, sent } => vec![event(client, keys, &body, sent, counts)],
        Arrival::Hotline { orders } => hotline(client, keys, now, orders, counts),
        Arrival::Open311 { form, sent } => vec![open311(client, keys, &form, sent, counts)],
    }
}

fn event(client: &Client, keys: &Keys, body: &Value, sent: Sent, counts: &mut Counts) -> Outcome {
    let headers = [
        ("content-type".to_owned(), "application/json".to_owned()),
        ("idempotency-key".to_owned(), sent.external_id.clone()),
    ];
    let bytes = body.to_string().into_bytes();
    let mut first: Option<String> = None;
    for attempt in 0..=usize::from(sent.retried) + 5 {
        let reply = client.send("POST", "/v1/events", &keys.miniprogram, &headers, Some(bytes.clone()));
        let replayed = reply.header("idempotent-replayed") == Some("true");
        match reply.status {
            200..=202 => {
                let answer = reply.json();
                let id = answer["event_id"].as_str().unwrap_or_default().to_owned();
                if let Some(f) = &first {
                    counts.retries += 1;
                    if !replayed || *f != id {
                        return Outcome::Anomaly(format!(
                            "a retried event {} was not replayed: {}",
                            sent.external_id, reply.body
                        ));
                    }
                    counts.replays += 1;
                }
                if sent.retried && first.is_none() {
                    first = Some(id);
                    continue;
                }
                return outcome_of(client, keys, sent, &answer, reply.status);
            }
            500..=599 if attempt < 5 => {
                counts.retries += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            _ => return Outcome::Anomaly(format!("event {}: {} {}", sent.external_id, reply.status, reply.body)),
        }
    }
    Outcome::Anomaly(format!("event {}: no answer after retries", sent.external_id))
}

/// The outcome of an event answer (`201` made, `202` queued).
pub fn outcome_of(client: &Client, keys: &Keys, sent: Sent, answer: &Value, status: u16) -> Outcome {
    let event_id = answer["event_id"].as_str().unwrap_or_default().to_owned();
    if status == 202 || answer["status"] == "queued" {
        return Outcome::Queued { sent, event_id };
    }
    let made = Made {
        state: text(&answer["case_state"]),
        merged_into: answer["merged_into"].as_str().map(str::to_owned),
        responsible: code(&answer["grid"]["responsible"]),
        comprehensive: code(&answer["grid"]["comprehensive"]),
        community: text(&answer["grid"]["community_code"]),
    };
    if made.responsible.is_empty() || made.community.is_empty() {
        return match read_case(client, keys, &event_id) {
            Some(made) => Outcome::Made { sent, event_id, answer: made },
            None => Outcome::Anomaly(format!("event {event_id}: answered {answer} but no case")),
        };
    }
    Outcome::Made { sent, event_id, answer: made }
}

/// The case made from event `id`, if it exists yet.
pub fn read_case(client: &Client, keys: &Keys, id: &str) -> Option<Made> {
    read_case_at(client, keys, id).map(|(made, _)| made)
}

fn hotline(
    client: &Client,
    keys: &Keys,
    now: DateTime<Utc>,
    orders: Vec<(Value, Sent)>,
    counts: &mut Counts,
) -> Vec<Outcome> {
    let body = json!({ "orders": orders.iter().map(|(o, _)| o.clone()).collect::<Vec<_>>() }).to_string().into_bytes();
    let path = "/v1/hotline/work-orders";
    let retried = orders.iter().any(|(_, s)| s.retried);
    let mut first: Option<Value> = None;
    for attempt in 0..=usize::from(retried) + 5 {
        // Each try is signed afresh: a signature is accepted once.
        let mut headers =
            crate::hostile::signed_headers(&keys.hotline_secret, now.timestamp() + attempt as i64, "POST", path, &body);
        headers.push(("content-type".to_owned(), "application/json".to_owned()));
        let reply = client.send("POST", path, &keys.hotline, &headers, Some(body.clone()));
        match reply.status {
            200 => {
                let answer = reply.json();
                if first.is_some() {
                    counts.retries += 1;
                    let all_replayed =
                        answer["results"].as_array().is_some_and(|r| r.iter().all(|x| x["replayed"] == true));
                    if !all_replayed {
                        return vec![Outcome::Anomaly(format!(
                            "a retried hotline batch was not replayed: {}",
                            reply.body
                        ))];
                    }
                    counts.replays += 1;
                }
                if retried && first.is_none() {
                    first = Some(answer);
                    continue;
                }
                let results = answer["results"].as_array().cloned().unwrap_or_default();
                if results.len() != orders.len() {
                    return vec![Outcome::Anomaly(format!(
                        "a hotline batch of {} got {} results",
                        orders.len(),
                        results.len()
                    ))];
                }
                return orders
                    .into_iter()
                    .zip(results)
                    .map(|((_, sent), result)| match result["status"].as_str() {
                        Some("accepted" | "merged" | "queued") => outcome_of(client, keys, sent, &result, 201),
                        _ => Outcome::Anomaly(format!("hotline order {}: {result}", sent.external_id)),
                    })
                    .collect();
            }
            500..=599 if attempt < 5 => {
                counts.retries += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            // The client's connection broke after the batch was taken: its signature is
            // spent. Signed afresh, the batch is replayed.
            401 if attempt < 5
                && crate::hostile::problem_code(&reply.body).as_deref() == Some("signature_replayed") =>
            {
                counts.retries += 1;
            }
            _ => return vec![Outcome::Anomaly(format!("hotline batch: {} {}", reply.status, reply.body))],
        }
    }
    vec![Outcome::Anomaly("hotline batch: no answer after retries".into())]
}

fn open311(client: &Client, keys: &Keys, form: &[(String, String)], sent: Sent, counts: &mut Counts) -> Outcome {
    let mut fields = vec![("api_key".to_owned(), keys.open311.clone())];
    fields.extend(form.iter().cloned());
    let body = fields
        .iter()
        .map(|(k, v)| format!("{}={}", wangge_e2e::percent_encode(k), wangge_e2e::percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
        .into_bytes();
    let headers = [
        ("content-type".to_owned(), "application/x-www-form-urlencoded".to_owned()),
        ("idempotency-key".to_owned(), sent.external_id.clone()),
    ];
    for attempt in 0..=usize::from(sent.retried) + 5 {
        let reply = client.send("POST", "/open311/v2/requests.json", "", &headers, Some(body.clone()));
        match reply.status {
            200 | 201 if sent.retried && attempt == 0 => continue,
            200 | 201 => {
                if attempt > 0 {
                    counts.retries += 1;
                    counts.replays += usize::from(reply.header("idempotent-replayed") == Some("true"));
                }
                let answer = reply.json();
                let id = text(&answer[0]["service_request_id"]);
                return match read_case(client, keys, &id) {
                    Some(made) => Outcome::Made { sent, event_id: id, answer: made },
                    None => Outcome::Queued { sent, event_id: id },
                };
            }
            500..=599 if attempt < 5 => {
                counts.retries += 1;
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
            _ => return Outcome::Anomaly(format!("open311 {}: {} {}", sent.external_id, reply.status, reply.body)),
        }
    }
    Outcome::Anomaly(format!("open311 {}: no answer after retries", sent.external_id))
}

/// The case made from event `id`, if it exists yet, and when it was assigned.
pub fn read_case_at(client: &Client, keys: &Keys, id: &str) -> Option<(Made, Option<DateTime<Utc>>)> {
    let reply = client.send("GET", &format!("/v1/cases/{id}"), &keys.centre, &[], None);
    if reply.status != 200 {
        return None;
    }
    let case = reply.json();
    let made = Made {
        state: text(&case["state"]),
        merged_into: case["merged_into"].as_str().map(str::to_owned),
        responsible: text(&case["responsible_grid"]),
        comprehensive: text(&case["comprehensive_grid"]),
        community: text(&case["community"]),
    };
    let assigned_at =
        case["assigned_at"].as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok()).map(|t| t.with_timezone(&Utc));
    Some((made, assigned_at))
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// A grid as intake answers it: its code, or an object with one.
fn code(v: &Value) -> String {
    v.as_str().map(str::to_owned).or_else(|| v["code"].as_str().map(str::to_owned)).unwrap_or_default()
}
