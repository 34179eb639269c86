//! The city's traffic for a span of simulated time: who reports what, where and when.
//!
//! Rates at `--scale 1` (a day of Nantong):
//! - 12345 hotline: 7,500 contacts a day, 17 % of them work orders (≈1,275), around the
//!   clock with a daytime peak, forwarded in batches each step;
//! - grid staff on patrol (网格员巡查): 600 reports on a working day, in working hours, a
//!   fifth of that on rest days; 15 % are reported later than the matter allows (迟报);
//! - residents' mini-program reports (随手拍): 250 a day, daytime;
//! - Open311 clients: 50 a day;
//! - duplicates (重复上报): 5 % of reports are reported again 1 to 8 h later, within 20 m,
//!   by a resident or another caller;
//! - retries: 3 % of requests are sent twice, as a client that lost the answer does.

use chrono::{DateTime, Duration, Timelike, Utc};
use serde_json::{Value, json};

use crate::city::{Address, City};
use crate::oracle::calendar::WorkCalendar;
use crate::oracle::catalogue::Catalogue;
use crate::record::Source;
use crate::rng::Rng;

/// Hotline contacts a day, and the share that become work orders.
pub const HOTLINE_CONTACTS_PER_DAY: f64 = 7_500.0;
pub const HOTLINE_ORDER_SHARE: f64 = 0.17;
/// Patrol reports on a working day; on a rest day a fifth of it.
pub const PATROLS_PER_WORKDAY: f64 = 600.0;
pub const RESIDENT_REPORTS_PER_DAY: f64 = 250.0;
pub const OPEN311_REQUESTS_PER_DAY: f64 = 50.0;
pub const DUPLICATE_SHARE: f64 = 0.05;
pub const RETRY_SHARE: f64 = 0.03;
/// Patrol reports made later than the matter's `report_within` (应上报未上报).
pub const LATE_REPORT_SHARE: f64 = 0.15;

/// The relative weight of each hour of the day (+08:00) for calls and residents.
const HOURLY: [f64; 24] = [
    0.3, 0.2, 0.15, 0.1, 0.1, 0.2, 0.5, 1.0, 1.6, 2.0, 2.0, 1.7, 1.2, 1.4, 1.8, 1.9, 1.7, 1.4, 1.1, 1.0, 0.9, 0.7, 0.5,
    0.4,
];

/// Complaints the driver sends with no category hint, and the category each is meant as.
/// Intake's classifier (智能派单) places them: the driver expects what the build's embedded
/// model makes of each at its default threshold ([`classified`]), its category or the
/// centre's Z99, since the model is data the driver does not second-guess.
const UNHINTED: [(&str, &str); 6] = [
    ("小区垃圾堆了好几天没人清理", "B05"),
    ("楼上装修噪音太大影响休息", "B04"),
    ("饭店油烟直排到居民楼", "B06"),
    ("路边井盖缺失很危险", "C04"),
    ("楼道里贴满了小广告", "C07"),
    ("隔壁房子群租人员复杂", "C06"),
];

/// The category intake gives `text` with no hint: the embedded model's, or Z99 when it is unsure.
pub fn classified(text: &str) -> String {
    let classification = wangge_triage::Model::embedded().classify(text);
    match wangge_triage::place(&classification, wangge_triage::DEFAULT_THRESHOLD) {
        wangge_triage::Placement::Confident { category } => category,
        wangge_triage::Placement::Centre => wangge_triage::CENTRE_CATEGORY.to_owned(),
    }
}

/// What the driver sent, kept to check it against what the system made of it.
#[derive(Debug, Clone)]
pub struct Sent {
    pub source: Source,
    pub category: String,
    /// WGS-84.
    pub point: (f64, f64),
    pub address: String,
    pub grid: String,
    pub reported_at: DateTime<Utc>,
    pub discovered_at: Option<DateTime<Utc>>,
    pub reporter_is_grid_staff: bool,
    /// The external id (a mini-program's id, an order number, an Open311 request's key).
    pub external_id: String,
    /// The report this one repeats on purpose (its external id).
    pub duplicate_of: Option<String>,
    /// Sent twice, as a retry.
    pub retried: bool,
    /// A hotline order's number.
    pub order_no: Option<String>,
}

/// One request's worth of arrivals.
#[derive(Debug, Clone)]
pub enum Arrival {
    /// `POST /v1/events` from a mini-program.
    Event { body: Value, sent: Sent },
    /// `POST /v1/hotline/work-orders`: one batch.
    Hotline { orders: Vec<(Value, Sent)> },
    /// `POST /open311/v2/requests.json`.
    Open311 { form: Vec<(String, String)>, sent: Sent },
}

/// The traffic generator.
pub struct Traffic<'a> {
    city: &'a City,
    catalogue: &'a Catalogue,
    calendar: &'a WorkCalendar,
    scale: f64,
    rng: Rng,
    serial: u64,
    /// Reports to repeat later: (when, what).
    repeats: Vec<(DateTime<Utc>, Sent)>,
    /// Categories patrols find (discoverable, assessed) and residents report (assessed).
    patrol_categories: Vec<String>,
    resident_categories: Vec<String>,
}

impl<'a> Traffic<'a> {
    pub fn new(city: &'a City, catalogue: &'a Catalogue, calendar: &'a WorkCalendar, scale: f64, seed: u64) -> Self {
        let assessed = |m: &&crate::oracle::catalogue::Matter| m.domain != "general";
        let patrol_categories =
            catalogue.matters.values().filter(assessed).filter(|m| m.discoverable).map(|m| m.code.clone()).collect();
        let resident_categories = catalogue.matters.values().filter(assessed).map(|m| m.code.clone()).collect();
        Traffic {
            city,
            catalogue,
            calendar,
            scale,
            rng: Rng::derive(seed, 0x7AFF1C),
            serial: 0,
            repeats: Vec::new(),
            patrol_categories,
            resident_categories,
        }
    }
}

impl<'a> Traffic<'a> {
    /// Everything that arrives in `(from, to]`, sent at `to` (the step's instant). Hotline
    /// orders keep the time each call came in (`received_at`), within the span.
    pub fn step(&mut self, from: DateTime<Utc>, to: DateTime<Utc>) -> Vec<Arrival> {
        let span_days = (to - from).num_seconds() as f64 / 86_400.0;
        let hour = local_hour(to);
        let weight = HOURLY[hour] / (HOURLY.iter().sum::<f64>() / 24.0);
        let mut arrivals = Vec::new();

        let orders = self.rng.poisson(HOTLINE_CONTACTS_PER_DAY * HOTLINE_ORDER_SHARE * self.scale * span_days * weight);
        let mut batch: Vec<(Value, Sent)> = (0..orders).map(|_| self.order(from, to, None)).collect();
        let patrols = self.rng.poisson(self.patrol_rate(to) * self.scale * span_days);
        for _ in 0..patrols {
            arrivals.push(self.patrol(to));
        }
        for _ in 0..self.rng.poisson(RESIDENT_REPORTS_PER_DAY * self.scale * span_days * weight) {
            arrivals.push(self.resident(to, None));
        }
        for _ in 0..self.rng.poisson(OPEN311_REQUESTS_PER_DAY * self.scale * span_days * weight) {
            arrivals.push(self.open311(to));
        }
        // Repeats due now: a resident again for a point, another caller for an address.
        let (due, later): (Vec<_>, Vec<_>) =
            std::mem::take(&mut self.repeats).into_iter().partition(|(at, _)| *at <= to);
        self.repeats = later;
        for (_, original) in due {
            match original.source {
                Source::Hotline => batch.push(self.order(from, to, Some(&original))),
                _ => arrivals.push(self.resident(to, Some(&original))),
            }
        }
        for chunk in batch.chunks(100) {
            arrivals.push(Arrival::Hotline { orders: chunk.to_vec() });
        }
        arrivals
    }

    /// Patrol reports a day at `t`: in working hours of a working day, a fifth on rest days.
    fn patrol_rate(&self, t: DateTime<Utc>) -> f64 {
        let local = t.with_timezone(&crate::oracle::calendar::shanghai());
        let minutes = local.hour() * 60 + local.minute();
        let in_window = (510..720).contains(&minutes) || (810..1050).contains(&minutes);
        if !in_window {
            return 0.0;
        }
        // 450 working minutes a day: the day's reports spread over them.
        let per_day =
            if self.calendar.is_workday(local.date_naive()) { PATROLS_PER_WORKDAY } else { PATROLS_PER_WORKDAY / 5.0 };
        per_day * 1440.0 / 450.0
    }

    fn next_id(&mut self, prefix: &str) -> String {
        self.serial += 1;
        format!("{prefix}-{:07}", self.serial)
    }

    fn address(&mut self) -> &'a Address {
        self.rng.pick(&self.city.addresses)
    }

    fn maybe_repeat(&mut self, sent: &Sent, at: DateTime<Utc>) {
        if self.rng.chance(DUPLICATE_SHARE) {
            let later = at + Duration::minutes(60 + self.rng.below(420) as i64);
            self.repeats.push((later, sent.clone()));
        }
    }

    fn sent(
        &mut self,
        source: Source,
        category: &str,
        address: &Address,
        at: DateTime<Utc>,
        external_id: String,
    ) -> Sent {
        Sent {
            source,
            category: category.to_owned(),
            point: (address.lng, address.lat),
            address: address.text.clone(),
            grid: address.grid.clone(),
            reported_at: at,
            discovered_at: None,
            reporter_is_grid_staff: false,
            external_id,
            duplicate_of: None,
            retried: self.rng.chance(RETRY_SHARE),
            order_no: None,
        }
    }

    /// A grid worker's patrol report of a matter found in their own grid.
    fn patrol(&mut self, at: DateTime<Utc>) -> Arrival {
        let address = self.address();
        let category = self.rng.pick(&self.patrol_categories).clone();
        let draw = self.rng.below(1 << 20);
        let worker = self.city.worker_of(&address.grid, draw).map(|s| s.id.clone()).unwrap_or_default();
        let within = self.catalogue.matters[&category].report_within.elapsed().num_seconds() as f64;
        let late = self.rng.chance(LATE_REPORT_SHARE);
        let share = if late { 1.3 + 1.7 * self.rng.unit() } else { 0.05 + 0.65 * self.rng.unit() };
        let discovered_at = at - Duration::seconds((within * share) as i64);
        let external_id = self.next_id("wx-patrol");
        let mut sent = self.sent(Source::GridStaff, &category, address, at, external_id.clone());
        sent.discovered_at = Some(discovered_at);
        sent.reporter_is_grid_staff = true;
        let body = json!({
            "source": "grid_staff",
            "reporter": { "staff_id": worker },
            "category": category,
            "description": format!("巡查发现：{}", address.text),
            "location": { "lng": address.lng, "lat": address.lat, "crs": "wgs84", "accuracy": 5 },
            "discovered_at": crate::render(discovered_at),
            "external_id": external_id,
        });
        self.maybe_repeat(&sent, at);
        Arrival::Event { body, sent }
    }

    /// A resident's report; or, repeating `original`, a resident reporting the same thing
    /// again within 20 m (重复上报).
    fn resident(&mut self, at: DateTime<Utc>, original: Option<&Sent>) -> Arrival {
        let (category, address) = match original {
            Some(o) => {
                let a = Address { text: o.address.clone(), lng: o.point.0, lat: o.point.1, grid: o.grid.clone() };
                (o.category.clone(), a)
            }
            None => (self.rng.pick(&self.resident_categories).clone(), self.address().clone()),
        };
        // Up to about 11 m north or south of the point.
        let shift = if original.is_some() { (self.rng.unit() - 0.5) * 0.0002 } else { 0.0 };
        let point = (address.lng, address.lat + shift);
        let (gcj_lng, gcj_lat) = wangge_geo::crs::wgs84_to_gcj02(point.0, point.1);
        let external_id = self.next_id("wx-resident");
        let mut sent = self.sent(Source::Resident, &category, &address, at, external_id.clone());
        sent.point = point;
        sent.duplicate_of = original.map(|o| o.external_id.clone());
        let n = self.serial;
        let mut reporter = json!({ "name": "居民", "phone": format!("139{:08}", n % 100_000_000) });
        if !n.is_multiple_of(5) {
            reporter["wechat_openid"] = format!("o-sim-resident-{n:012}").into();
        }
        let body = json!({
            "source": "resident",
            "reporter": reporter,
            "category": category,
            "description": format!("随手拍：{}", address.text),
            "location": { "lng": gcj_lng, "lat": gcj_lat, "crs": "gcj02", "accuracy": 10 },
            "external_id": external_id,
        });
        if original.is_none() {
            self.maybe_repeat(&sent, at);
        }
        Arrival::Event { body, sent }
    }

    /// A 12345 work order received in `(from, to)`; or a second caller about `original`.
    fn order(&mut self, from: DateTime<Utc>, to: DateTime<Utc>, original: Option<&Sent>) -> (Value, Sent) {
        let address = match original {
            Some(o) => Address { text: o.address.clone(), lng: o.point.0, lat: o.point.1, grid: o.grid.clone() },
            None => self.address().clone(),
        };
        let span = (to - from).num_seconds().max(2);
        let received_at = from + Duration::seconds(1 + self.rng.below(span as usize - 1) as i64);
        let order_no = self.next_id("12345-2026");
        let draw = self.rng.unit();
        let (request_type, content, hint, category) = match original {
            Some(o) => ("投诉", format!("再次反映：{}", o.address), Some(o.category.clone()), o.category.clone()),
            None if draw < 0.85 => {
                let c = self.rng.pick(&self.resident_categories).clone();
                ("投诉", format!("市民反映{}存在问题", address.text), Some(c.clone()), c)
            }
            None if draw < 0.95 => {
                let (text, _meant) = *self.rng.pick(&UNHINTED);
                ("投诉", text.to_owned(), None, classified(text))
            }
            None => ("咨询", "咨询办事流程和所需材料".to_owned(), None, "Z01".to_owned()),
        };
        let mut sent = self.sent(Source::Hotline, &category, &address, received_at, order_no.clone());
        sent.order_no = Some(order_no.clone());
        sent.duplicate_of = original.map(|o| o.external_id.clone());
        let mut order = json!({
            "order_no": order_no,
            "request_type": request_type,
            "caller": { "name": "市民", "phone": format!("137{:08}", self.serial % 100_000_000) },
            "address": address.text,
            "content": content,
            "received_at": crate::render(received_at),
            "deadline": crate::render(received_at + Duration::days(5)),
        });
        if let Some(h) = hint {
            order["category_hint"] = h.into();
        }
        if original.is_none() {
            self.maybe_repeat(&sent, to);
        }
        (order, sent)
    }

    /// An Open311 GeoReport v2 service request.
    fn open311(&mut self, at: DateTime<Utc>) -> Arrival {
        let address = self.address();
        let category = self.rng.pick(&self.resident_categories).clone();
        let external_id = self.next_id("open311");
        let sent = self.sent(Source::Open311, &category, address, at, external_id.clone());
        let form = [
            ("service_code", category.clone()),
            ("lat", address.lat.to_string()),
            ("long", address.lng.to_string()),
            ("description", format!("Open311: {}", address.text)),
            ("first_name", "Li".to_owned()),
            ("last_name", "Lei".to_owned()),
            ("phone", format!("136{:08}", self.serial % 100_000_000)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        self.maybe_repeat(&sent, at);
        Arrival::Open311 { form, sent }
    }
}

/// The hour of `t` in Nantong (0–23).
pub fn local_hour(t: DateTime<Utc>) -> usize {
    t.with_timezone(&crate::oracle::calendar::shanghai()).hour() as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_model_places_every_unhinted_complaint_as_meant() {
        for (text, meant) in UNHINTED {
            assert_eq!(classified(text), meant, "{text}");
        }
    }
}
