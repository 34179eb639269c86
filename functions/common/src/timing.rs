//! Stages of a request for `Server-Timing`, after the glue's `app` (the whole time in
//! the component): what the benchmarks read to say where the time goes.

use std::time::Instant;

pub struct Timing {
    last: Instant,
    laps: Vec<(&'static str, f64)>,
}

impl Timing {
    pub fn start() -> Timing {
        Timing { last: Instant::now(), laps: Vec::new() }
    }

    /// Ends the stage `name`, which began at the previous lap (or the start).
    pub fn lap(&mut self, name: &'static str) {
        let now = Instant::now();
        self.laps.push((name, (now - self.last).as_secs_f64() * 1000.0));
        self.last = now;
    }

    /// Records `name` as a stage of `spent`, timed apart (laps go on from where they were).
    pub fn record(&mut self, name: &'static str, spent: std::time::Duration) {
        self.laps.push((name, spent.as_secs_f64() * 1000.0));
    }

    /// `name;dur=ms, ...`, the value of a `Server-Timing` header.
    pub fn header(&self) -> String {
        self.laps.iter().map(|(n, ms)| format!("{n};dur={ms:.3}")).collect::<Vec<_>>().join(", ")
    }
}
