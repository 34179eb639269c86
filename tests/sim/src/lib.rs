//! A month in Nantong (南通的一个月): the five functions run as one system on a
//! simulated clock, at a city's volume and mix, with people acting on the cases and
//! faults injected, and a ledger at the end that fails on anything lost, doubled,
//! misdated or misscored.
//!
//! - [`record`]: the driver's own record of what it sent and did;
//! - [`oracle`]: deadlines and the month's assessment, recomputed from that record alone;
//! - [`hostile`]: refused requests mixed into the stream, each with the code it must get.

pub mod hostile;
pub mod oracle;
pub mod record;
