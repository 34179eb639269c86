//! The short version of the month (`scripts/test.sh` runs it on both profiles): one
//! simulated day at four tenths of Nantong's volume, with every kind of fault, and a
//! ledger that must balance. The day is Thursday 24 September 2026: deadlines counted
//! from it cross the Mid-Autumn holiday (25–27 September), a weekend and National Day.
//! On the cluster profile the suite runs as two replicas on PostgreSQL and Redis.

use chrono::NaiveDate;
use wangge_sim::driver::Config;

#[test]
fn a_day_in_nantong_with_every_fault_balances_its_ledger() {
    let cluster = wangge_e2e::profile() == wangge_e2e::Profile::Cluster;
    let day = NaiveDate::from_ymd_opt(2026, 9, 24).unwrap().and_hms_opt(0, 0, 0).unwrap();
    let config = Config {
        start: wangge_sim::oracle::calendar::from_local(day),
        days: 1,
        scale: 0.4,
        seed: 1,
        replicas: if cluster { 2 } else { 1 },
        faults: true,
        workers: 8,
        name: "sim-day".into(),
    };
    let report = wangge_sim::run::simulate(config);
    println!("{}", report.ledger.render());
    println!("{}", serde_json::to_string_pretty(&report.figures).unwrap());
    let f = &report.figures;
    // Every kind of fault struck.
    let faults = f["faults"].as_array().unwrap();
    for kind in
        ["case-routing down", "killed (kill -9)", "notification stalls", "outside services answer again", "requeued"]
    {
        assert!(faults.iter().any(|x| x.as_str().unwrap().contains(kind)), "fault `{kind}` did not happen: {faults:?}");
    }
    assert!(f["queued_then_made"].as_u64().unwrap() > 0, "no report waited in intake's queue");
    assert!(f["hostile"].as_u64().unwrap() > 0 && f["races"].as_u64().unwrap() > 0, "no hostile requests or races");
    assert!(f["requeued_dead_letters"].as_u64().unwrap() > 0, "no notification died of the outage");
    assert!(report.ledger.ok(), "the ledger does not balance:\n{}", report.ledger.failures.join("\n"));
}
