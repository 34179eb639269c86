//! What tests of apps on this host need: temp dirs, a blocking HTTP client, and
//! a loopback receiver that stands in for outside services, and private PostgreSQL
//! and Redis servers ([`PostgresServer`], [`RedisServer`]).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use serde_json::Value;

pub use wangge_test_servers::{PostgresServer, RedisServer, free_port, fresh_database, shared_postgres, shared_redis};

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

/// Fails with a clear message when the wasm has not been built (scripts/test.sh builds it).
pub fn require_wasm(name: &str) -> PathBuf {
    let path = workspace_root().join("target/wasm32-wasip2/release").join(format!("{name}.wasm"));
    assert!(path.exists(), "{} is missing: build the components first (scripts/test.sh does)", path.display());
    path
}

/// A fresh directory under the target dir, unique to this test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = workspace_root().join("target/test-state").join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder().http_status_as_error(false).build().into()
}

/// One request: `headers` as pairs, `body` sent as is.
pub fn request(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Reply {
    try_request(method, url, headers, body).unwrap_or_else(|e| panic!("{method} {url}: {e}"))
}

/// [`request`] to a server that may be gone: a failed connection is an `Err`.
pub fn try_request(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Result<Reply, String> {
    let mut builder = http::Request::builder().method(method).uri(url);
    for (k, v) in headers {
        builder = builder.header(*k, *v);
    }
    let request = builder.body(body.map(<[u8]>::to_vec).unwrap_or_default()).unwrap();
    let response = agent().run(request).map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned()))
        .collect();
    let body = response.into_body().read_to_string().unwrap_or_default();
    Ok(Reply { status, headers, body })
}

pub fn get(url: &str) -> Reply {
    request("GET", url, &[], None)
}

/// A loopback HTTP server that answers every request `200 hello from receiver`
/// and counts them; enough for outbound tests.
pub struct Receiver {
    pub url: String,
    pub hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

pub fn receiver() -> Receiver {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let body = "hello from receiver";
            let _ =
                write!(stream, "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
        }
    });
    Receiver { url, hits }
}
