//! The case lifecycle behind the `case-routing` function, host-independent:
//!
//! - [`api`]: case-routing's internal routes (`/internal/cases`, `/internal/categories`,
//!   `/internal/facts`), typed once for their callers and case-routing;
//! - [`calendar`]: working days and hours, and deadlines in `m`, `h`, `wh` and `wd`;
//! - [`lifecycle`]: the states, the allowed transitions, who may act, and the small
//!   enums of a case (assignee kind, escalation level);
//! - [`log`]: the append-only, hash-chained history of a case;
//! - [`notices`]: the outbox of notices a change owes;
//! - [`refusal`]: why a request is refused, with stable codes and text in zh-CN and en;
//! - [`reference`]: the catalogue of matters (with each matter's [`reference::Priority`]),
//!   calendars and departments;
//! - [`store`]: cases in storage — made, read, acted on, and the facts assessment reads;
//! - [`supervision`]: the traffic light of a deadline and the sweep (督办).

pub mod api;
pub mod calendar;
pub mod lifecycle;
pub mod log;
pub mod notices;
pub mod reference;
pub mod refusal;
pub mod store;
pub mod supervision;
