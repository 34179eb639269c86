//! 12345 hotline work orders (工单): each becomes an event of source `hotline`, with
//! its order number as the external id, its free-text address resolved through the
//! address dictionary, and a category from the hint, else the keywords below, else
//! the request type, else the centre's triage queue.

use serde::Deserialize;

use crate::event::{Event, HotlineOrder, Reporter};

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

/// The category of a work order with no hint: the first keyword found in its
/// content, in this order (documented in the README). A keyword list is all `&&`:
/// each word must appear.
pub const KEYWORDS: &[(&[&str], &str)] = &[
    (&["秸秆"], "B01"),
    (&["焚烧"], "B01"),
    (&["电动车", "充电"], "D02"),
    (&["电瓶车", "充电"], "D02"),
    (&["消防通道"], "D01"),
    (&["楼道", "堵"], "D01"),
    (&["燃气"], "D06"),
    (&["煤气"], "D06"),
    (&["危化"], "D04"),
    (&["电梯"], "D08"),
    (&["食品"], "D07"),
    (&["工地"], "D05"),
    (&["欠薪"], "A03"),
    (&["工资"], "A03"),
    (&["物业"], "A04"),
    (&["邻居"], "A01"),
    (&["噪音"], "B04"),
    (&["噪声"], "B04"),
    (&["油烟"], "B06"),
    (&["黑臭"], "B03"),
    (&["污水"], "B03"),
    (&["废气"], "B02"),
    (&["粉尘"], "B02"),
    (&["垃圾"], "B05"),
    (&["违建"], "C01"),
    (&["违章搭建"], "C01"),
    (&["占道"], "C02"),
    (&["摆摊"], "C02"),
    (&["路面"], "C03"),
    (&["坑洼"], "C03"),
    (&["井盖"], "C04"),
    (&["路灯"], "C04"),
    (&["乱堆"], "C05"),
    (&["群租"], "C06"),
    (&["小广告"], "C07"),
];

/// The category of a request type that no keyword placed (咨询 → inquiry, 建议 → suggestion).
pub const REQUEST_TYPES: &[(&str, &str)] = &[("咨询", "Z01"), ("建议", "Z02")];

/// Where the centre triages what nothing else placed: "other", left at the centre.
pub const TRIAGE_CATEGORY: &str = "Z99";

/// The category of an order, and how it was chosen.
pub fn categorize(order: &WorkOrder) -> (String, &'static str) {
    if let Some(hint) = &order.category_hint {
        return (hint.clone(), "hint");
    }
    if let Some((_, code)) = KEYWORDS.iter().find(|(words, _)| words.iter().all(|w| order.content.contains(w))) {
        return ((*code).to_owned(), "keyword");
    }
    if let Some((_, code)) = REQUEST_TYPES.iter().find(|(t, _)| *t == order.request_type) {
        return ((*code).to_owned(), "request_type");
    }
    (TRIAGE_CATEGORY.to_owned(), "triage")
}

impl WorkOrder {
    /// The event to queue, with the caller apart.
    pub fn into_event(self, id: String) -> (Event, Reporter) {
        let (category, category_from) = categorize(&self);
        let reported_at =
            wangge_core::time::parse(&self.received_at).map(wangge_core::time::render).unwrap_or_default();
        let deadline = self.deadline.as_deref().and_then(wangge_core::time::parse).map(wangge_core::time::render);
        let event = Event {
            id,
            channel: "hotline".into(),
            source: "hotline".into(),
            reporter_staff_id: None,
            category,
            category_from: category_from.into(),
            description: self.content,
            point: None,
            address: Some(self.address),
            discovered_at: None,
            reported_at,
            attachments: Vec::new(),
            external_id: Some(self.order_no),
            hotline: Some(HotlineOrder { request_type: self.request_type, deadline }),
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
    fn hint_then_keywords_then_request_type_then_triage() {
        assert_eq!(categorize(&order("小区垃圾没人清", "投诉", Some("C05"))), ("C05".into(), "hint"));
        assert_eq!(categorize(&order("小区垃圾没人清", "投诉", None)), ("B05".into(), "keyword"));
        assert_eq!(categorize(&order("楼下电动车在楼道里充电", "举报", None)), ("D02".into(), "keyword"));
        assert_eq!(categorize(&order("电动车停放", "投诉", None)), ("Z99".into(), "triage"));
        assert_eq!(categorize(&order("社保怎么办理", "咨询", None)), ("Z01".into(), "request_type"));
        assert_eq!(categorize(&order("希望多建公园", "建议", None)), ("Z02".into(), "request_type"));
        assert_eq!(categorize(&order("说不清的事", "其他", None)), ("Z99".into(), "triage"));
    }

    #[test]
    fn every_keyword_category_is_in_the_demo_catalogue() {
        let catalogue: serde_json::Value = serde_json::from_str(include_str!("../../../data/categories.json")).unwrap();
        let codes: Vec<&str> =
            catalogue["categories"].as_array().unwrap().iter().map(|c| c["code"].as_str().unwrap()).collect();
        for code in
            KEYWORDS.iter().map(|(_, c)| *c).chain(REQUEST_TYPES.iter().map(|(_, c)| *c)).chain([TRIAGE_CATEGORY])
        {
            assert!(codes.contains(&code), "{code}");
        }
    }

    #[test]
    fn the_order_number_is_the_external_id_and_the_caller_is_apart() {
        let mut o = order("噪音扰民", "投诉", None);
        o.caller = Caller { name: Some("李四".into()), phone: Some("13900000002".into()) };
        o.deadline = Some("2026-11-28T18:00:00+08:00".into());
        let (event, caller) = o.into_event("e1".into());
        assert_eq!(event.external_id.as_deref(), Some("GD1"));
        assert_eq!(event.source, "hotline");
        assert_eq!(event.category, "B04");
        assert_eq!(event.hotline.as_ref().unwrap().deadline.as_deref(), Some("2026-11-28T18:00:00+08:00"));
        assert_eq!(caller.phone.as_deref(), Some("13900000002"));
        assert!(!serde_json::to_string(&event).unwrap().contains("1390000"));
    }
}
