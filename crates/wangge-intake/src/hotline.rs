//! 12345 hotline work orders (工单): each becomes an event of source `hotline`, with
//! its order number as the external id, its free-text address resolved through the
//! address dictionary, and a category from the hint, else the request type, else the
//! classifier (智能派单, [`crate::triage`]), confident or leaving the order to the centre.

use serde::Deserialize;

use crate::event::{Event, HotlineOrder, Reporter};
use crate::triage::{CategoryFrom, Classifier, categorize};

/// One work order, once it has passed `schemas/hotline.work-orders.json`.
#[derive(Debug, Clone, Deserialize)]
pub struct WorkOrder {
    pub order_no: String,
    pub request_type: String,
    #[serde(default)]
    pub caller: Caller,
    pub address: String,
    pub content: String,
    pub received_at: String,
    #[serde(default)]
    pub deadline: Option<String>,
    #[serde(default)]
    pub category_hint: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Caller {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

/// The category of a request type the hotline itself labels (咨询 → inquiry, 建议 → suggestion).
pub const REQUEST_TYPES: &[(&str, &str)] = &[("咨询", "Z01"), ("建议", "Z02")];

/// The category an order states itself: its hint, else its request type. `None` leaves it to
/// the classifier.
pub fn stated_category(order: &WorkOrder) -> Option<(String, CategoryFrom)> {
    if let Some(hint) = &order.category_hint {
        return Some((hint.clone(), CategoryFrom::Hint));
    }
    REQUEST_TYPES
        .iter()
        .find(|(t, _)| *t == order.request_type)
        .map(|(_, code)| ((*code).to_owned(), CategoryFrom::RequestType))
}

impl WorkOrder {
    /// Whether the order states no category, and so needs the classifier.
    pub fn needs_classifier(&self) -> bool {
        stated_category(self).is_none()
    }

    /// The event to queue, with the caller apart. An order that states no category is placed
    /// by `classifier` (智能派单); without one, it goes to the centre.
    pub fn into_event(self, id: String, classifier: Option<&Classifier<'_>>) -> (Event, Reporter) {
        let (category, category_from, triage) = categorize(stated_category(&self), &self.content, classifier);
        let reported_at =
            wangge_core::time::parse(&self.received_at).map(wangge_core::time::render).unwrap_or_default();
        let deadline = self.deadline.as_deref().and_then(wangge_core::time::parse).map(wangge_core::time::render);
        let event = Event {
            id,
            channel: "hotline".into(),
            source: "hotline".into(),
            reporter_staff_id: None,
            category,
            category_from,
            description: self.content,
            point: None,
            address: Some(self.address),
            discovered_at: None,
            reported_at,
            attachments: Vec::new(),
            external_id: Some(self.order_no),
            hotline: Some(HotlineOrder { request_type: self.request_type, deadline }),
            triage,
        };
        (event, Reporter { name: self.caller.name, phone: self.caller.phone, wechat_openid: None })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(content: &str, request_type: &str, hint: Option<&str>) -> WorkOrder {
        WorkOrder {
            order_no: "GD1".into(),
            request_type: request_type.into(),
            caller: Caller::default(),
            address: "崇川区".into(),
            content: content.into(),
            received_at: "2026-11-26T09:00:00+08:00".into(),
            deadline: None,
            category_hint: hint.map(str::to_owned),
        }
    }

    #[test]
    fn hint_then_request_type_then_classifier() {
        let classifier = Classifier { model: wangge_triage::Model::embedded(), threshold: 0.0 };
        let category = |o: WorkOrder| {
            let (event, _) = o.into_event("e1".into(), Some(&classifier));
            (event.category, event.category_from.as_str(), event.triage.map(|t| t.model))
        };
        assert_eq!(category(order("小区垃圾没人清", "投诉", Some("C05"))), ("C05".into(), "hint", None));
        assert_eq!(category(order("社保怎么办理", "咨询", None)), ("Z01".into(), "request_type", None));
        assert_eq!(category(order("希望多建公园", "建议", None)), ("Z02".into(), "request_type", None));
        let (code, from, model) = category(order("小区垃圾没人清", "投诉", None));
        assert_eq!((from, model.as_deref()), ("model", Some(classifier.model.version())), "{code}");
        // No classifier at hand: the centre.
        let (event, _) = order("小区垃圾没人清", "投诉", None).into_event("e2".into(), None);
        assert_eq!((event.category.as_str(), event.category_from.as_str()), ("Z99", "triage"));
    }

    #[test]
    fn every_stated_category_is_in_the_demo_catalogue() {
        let catalogue: serde_json::Value = serde_json::from_str(include_str!("../../../data/categories.json")).unwrap();
        let codes: Vec<&str> =
            catalogue["categories"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap()).collect();
        for code in REQUEST_TYPES.iter().map(|(_, c)| *c).chain([crate::triage::TRIAGE_CATEGORY]) {
            assert!(codes.contains(&code), "{code}");
        }
    }

    #[test]
    fn the_order_number_is_the_external_id_and_the_caller_is_apart() {
        let mut o = order("噪音扰民", "投诉", Some("B04"));
        o.caller = Caller { name: Some("李四".into()), phone: Some("13900000002".into()) };
        o.deadline = Some("2026-11-28T18:00:00+08:00".into());
        let (event, caller) = o.into_event("e1".into(), None);
        assert_eq!(event.external_id.as_deref(), Some("GD1"));
        assert_eq!(event.source, "hotline");
        assert_eq!(event.category, "B04");
        assert_eq!(event.hotline.as_ref().unwrap().deadline.as_deref(), Some("2026-11-28T18:00:00+08:00"));
        assert_eq!(caller.phone.as_deref(), Some("13900000002"));
        assert!(!serde_json::to_string(&event).unwrap().contains("1390000"));
    }
}
