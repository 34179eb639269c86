//! The case lifecycle behind the `case-routing` function, host-independent:
//!
//! - [`calendar`]: working days and hours, and deadlines in `m`, `h`, `wh` and `wd`;
//! - [`lifecycle`]: the states, the allowed transitions, and who acts;
//! - [`log`]: the append-only, hash-chained history of a case;
//! - [`supervision`]: the traffic light of a deadline (督办).

pub mod calendar;
pub mod lifecycle;
pub mod log;
pub mod notices;
pub mod reference;
pub mod store;
pub mod supervision;
