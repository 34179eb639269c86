//! The simulation's HTTP client: keep-alive connections, spread over the replicas, and
//! a client's patience with a host that is being restarted (it tries again, as a real
//! integrator's retry loop would, for up to two minutes).

use std::cell::Cell;
use std::time::{Duration, Instant};

use wangge_e2e::Reply;

/// How long a request may take before the client gives up on that try.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// How long the client keeps trying while no host answers (a restart takes a second or two).
const PATIENCE: Duration = Duration::from_secs(120);

/// Every request any client of this process sent (tries included).
pub static SENT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// One client (one per worker thread): an agent with its own connections.
pub struct Client {
    bases: Vec<String>,
    agent: ureq::Agent,
    next: Cell<usize>,
}

impl Client {
    pub fn new(bases: Vec<String>) -> Client {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(REQUEST_TIMEOUT))
            .build()
            .into();
        Client { bases, agent, next: Cell::new(0) }
    }

    /// One request, on the next replica in turn; a connection that fails is tried again on
    /// the next, until a host answers.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        key: &str,
        headers: &[(String, String)],
        body: Option<Vec<u8>>,
    ) -> Reply {
        let started = Instant::now();
        let mut lost = 0;
        loop {
            let n = self.next.get();
            self.next.set(n.wrapping_add(1));
            let url = format!("{}{path}", self.bases[n % self.bases.len()]);
            match self.try_once(method, &url, key, headers, body.as_deref()) {
                Ok(reply) => return reply,
                Err(e) if started.elapsed() < PATIENCE => {
                    lost += 1;
                    if lost % 20 == 1 {
                        eprintln!("sim: {method} {path}: {e}; trying again");
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(e) => panic!("{method} {path}: no host answered for {PATIENCE:?}: {e}"),
            }
        }
    }

    /// The hosts this client spreads its requests over.
    pub fn bases(&self) -> &[String] {
        &self.bases
    }

    /// A JSON request.
    pub fn json(&self, method: &str, path: &str, key: &str, body: Option<&serde_json::Value>) -> Reply {
        let headers = [("content-type".to_owned(), "application/json".to_owned())];
        self.send(method, path, key, &headers, body.map(|b| b.to_string().into_bytes()))
    }

    fn try_once(
        &self,
        method: &str,
        url: &str,
        key: &str,
        headers: &[(String, String)],
        body: Option<&[u8]>,
    ) -> Result<Reply, String> {
        let mut builder = http::Request::builder().method(method).uri(url);
        if !key.is_empty() {
            builder = builder.header("authorization", format!("Bearer {key}"));
        }
        for (k, v) in headers {
            builder = builder.header(k.as_str(), v.as_str());
        }
        let request = builder.body(body.map(<[u8]>::to_vec).unwrap_or_default()).map_err(|e| e.to_string())?;
        SENT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let response = self.agent.run(request).map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
            .collect();
        let body = response.into_body().read_to_string().map_err(|e| e.to_string())?;
        Ok(Reply { status, headers, body })
    }
}
