//! The system under simulation: the suite served by `wangge-host up --clock` child
//! processes on one state (one on the embedded profile; two replicas on PostgreSQL and
//! Redis with `--cluster`), the demo city loaded, the city's outside services stood in
//! on loopback, and the integrators' keys made through the API.
//!
//! Children, not threads: a fault kills one with `kill -9` and starts it again on the
//! same state and port, as a platform's supervisor would.

use std::path::PathBuf;
use std::process::Child;

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};
use wangge_e2e::OPERATOR_KEY;
use wangge_e2e::fake::Fake;
use wangge_host::AppOptions;

use crate::client::Client;

/// One `wangge-host up` child serving the suite.
pub struct Host {
    pub base: String,
    listen: String,
    state_dir: PathBuf,
    child: std::sync::Mutex<Option<Child>>,
}

/// The integrator keys the simulation's clients use, one per kind of client.
#[derive(Debug, Clone)]
pub struct Keys {
    /// Mini-programs: grid staff's and residents' reports.
    pub miniprogram: String,
    /// The 12345 hotline: a signed key.
    pub hotline: String,
    pub hotline_secret: String,
    /// Open311 clients.
    pub open311: String,
    /// The command centres and the people acting on cases.
    pub centre: String,
    /// The cron: sweep, dispatch, retry-pending.
    pub scheduler: String,
    /// The month-end assessment run and its reads.
    pub assessment: String,
    /// A mini-program key that sends the hostile requests (its own rate window).
    pub hostile: String,
    /// The platform team: dead letters and their requeue.
    pub operations: String,
}

/// The running system.
pub struct System {
    pub options: AppOptions,
    pub hosts: Vec<Host>,
    /// WeChat, the SMS gateway, the hotline's result callback and the centres' webhook.
    pub receivers: Fake,
    pub keys: Keys,
}

impl System {
    /// Starts `replicas` hosts on a fresh copy of the demo city, its clock stopped at `start`.
    pub fn start(name: &str, replicas: usize, start: DateTime<Utc>) -> System {
        let receivers = Fake::start();
        let origin = receivers.url.clone();
        let variables = [
            ("wechat_origin", origin.as_str()),
            ("wechat_appid", "wx-sim"),
            ("wechat_secret", "sim-secret"),
            ("wechat_template_id", "TPL-SIM"),
            ("sms_origin", origin.as_str()),
            ("sms_api_key", "sms-key"),
            ("sms_template_id", "SMS-TPL"),
            ("hotline_origin", origin.as_str()),
            ("webhook_origin", origin.as_str()),
            ("webhook_secret", "webhook-secret"),
        ];
        let options = wangge_e2e::city_options(name, &variables);
        let dir = options.state_dir.clone().expect("state dir");
        let hosts = (0..replicas)
            .map(|n| {
                let listen = format!("127.0.0.1:{}", wangge_e2e::free_port());
                // The embedded profile's databases are files in the state dir: one host.
                // Replicas (cluster profile) share PostgreSQL and Redis, each its own dir for logs.
                let state_dir = if n == 0 { dir.clone() } else { dir.join(format!("replica-{n}")) };
                let host = Host { base: format!("http://{listen}"), listen, state_dir, child: Default::default() };
                host.spawn(&options);
                host
            })
            .collect::<Vec<_>>();
        let mut system = System { options, hosts, receivers, keys: Keys::placeholder() };
        system.set_clock(start);
        system.keys = system.make_keys();
        system
    }

    pub fn bases(&self) -> Vec<String> {
        self.hosts.iter().map(|h| h.base.clone()).collect()
    }

    /// Stops every host's clock at `t`: each request of the step reads that instant.
    pub fn set_clock(&self, t: DateTime<Utc>) {
        let body = json!({ "now": t.to_rfc3339_opts(SecondsFormat::Secs, true), "running": false }).to_string();
        for host in &self.hosts {
            let reply = wangge_e2e::try_request(
                "PUT",
                &format!("{}{}", host.base, wangge_host::clock::CONTROL_PATH),
                &[("content-type", "application/json")],
                Some(body.as_bytes()),
            );
            match reply {
                Ok(r) if r.status == 200 => {}
                other => panic!("setting the clock of {}: {:?}", host.base, other.map(|r| r.body)),
            }
        }
    }

    /// `kill -9` host `n`, then starts it again on the same state and port, its clock at `t`.
    pub fn kill_and_restart(&self, n: usize, t: DateTime<Utc>) {
        let host = &self.hosts[n];
        host.kill();
        host.spawn(&self.options);
        self.set_clock(t);
    }

    /// Restarts every host with some variables changed (a broken database address, to take
    /// a function down; or none, to bring it back), its clock at `t`.
    pub fn restart_with(&self, changed: &[(&str, String)], t: DateTime<Utc>) {
        let mut options = self.options.clone();
        for (name, value) in changed {
            options.variables.insert((*name).to_owned(), value.clone());
        }
        for host in &self.hosts {
            host.kill();
            host.spawn(&options);
        }
        self.set_clock(t);
    }

    /// The process id of host `n`'s `wangge-host`.
    pub fn pid(&self, n: usize) -> Option<u32> {
        self.hosts[n].child.lock().unwrap().as_ref().map(Child::id)
    }

    /// The database `label`, on whichever engine the suite runs.
    pub fn store(&self, label: &str) -> wangge_core::native::TestDb {
        wangge_e2e::store_of(&self.options, label)
    }

    fn make_keys(&self) -> Keys {
        let client = Client::new(self.bases());
        let key = |name: &str, scopes: &[&str], signed: bool| -> Value {
            let body = json!({ "name": name, "scopes": scopes, "region_prefix": "", "signed": signed });
            let reply = client.json("POST", "/v1/keys", OPERATOR_KEY, Some(&body));
            assert_eq!(reply.status, 201, "making key {name}: {}", reply.body);
            reply.json()
        };
        let token = |v: &Value| v["token"].as_str().expect("token").to_owned();
        let hotline = key("南通12345热线", &["events:write", "events:read"], true);
        Keys {
            miniprogram: token(&key("网格通小程序", &["events:write", "events:read"], false)),
            hotline: token(&hotline),
            hotline_secret: hotline["signing_secret"].as_str().expect("signing secret").to_owned(),
            open311: token(&key("Open311 客户端", &["events:write"], false)),
            centre: token(&key("南通市指挥中心", &["cases:read", "cases:act", "events:read"], false)),
            scheduler: token(&key("cron", &["scheduler"], false)),
            hostile: token(&key("可疑客户端", &["events:write"], false)),
            operations: token(&key("平台运维", &["notifications:read", "notifications:admin"], false)),
            assessment: token(&key("考核办", &["assessments:run", "assessments:read", "notifications:read"], false)),
        }
    }
}

impl Keys {
    fn placeholder() -> Keys {
        let none = String::new;
        Keys {
            miniprogram: none(),
            hotline: none(),
            hotline_secret: none(),
            open311: none(),
            centre: none(),
            scheduler: none(),
            assessment: none(),
            hostile: none(),
            operations: none(),
        }
    }
}

impl Host {
    fn spawn(&self, options: &AppOptions) {
        let (child, _) = wangge_e2e::replica::start_host(options, &self.listen, &self.state_dir, &["--clock"]);
        *self.child.lock().unwrap() = Some(child);
    }

    /// `kill -9`: the process ends at once, mid-request, with nothing flushed or closed.
    fn kill(&self) {
        if let Some(mut child) = self.child.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.kill();
    }
}
