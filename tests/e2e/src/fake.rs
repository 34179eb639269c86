//! Outside services a city has, stood in on loopback: the WeChat API (token and
//! subscription messages), an SMS gateway, the hotline's result callback and a
//! webhook receiver. Every request is recorded; failures are scripted.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

/// One request as received.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// Path and query.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// The status it was answered with (a scripted failure, or success).
    pub status: u16,
}

impl Recorded {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct Script {
    /// Path prefix → (failures left, status).
    failures: HashMap<String, (usize, u16)>,
    token: String,
    token_fetches: usize,
    unsubscribed: HashSet<String>,
}

pub struct Fake {
    pub url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    script: Arc<Mutex<Script>>,
}

impl Fake {
    pub fn start() -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let script = Arc::new(Mutex::new(Script { token: "TOKEN-1".into(), ..Script::default() }));
        let (r, s) = (requests.clone(), script.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let (r, s) = (r.clone(), s.clone());
                std::thread::spawn(move || serve(stream, &r, &s));
            }
        });
        Fake { url, requests, script }
    }

    /// The next `times` requests under `path` answer `status`.
    pub fn fail(&self, path: &str, times: usize, status: u16) {
        self.script.lock().unwrap().failures.insert(path.to_owned(), (times, status));
    }

    /// WeChat issues a new access token: the old one is refused with 42001.
    pub fn rotate_token(&self) {
        let mut s = self.script.lock().unwrap();
        let n = s.token_fetches + 2;
        s.token = format!("TOKEN-{n}");
    }

    pub fn token_fetches(&self) -> usize {
        self.script.lock().unwrap().token_fetches
    }

    /// This openid has not subscribed: WeChat answers 43101.
    pub fn unsubscribe(&self, openid: &str) {
        self.script.lock().unwrap().unsubscribed.insert(openid.to_owned());
    }

    /// Every scripted failure ends now.
    pub fn heal(&self) {
        self.script.lock().unwrap().failures.clear();
    }

    /// Requests whose path starts with `path`.
    pub fn requests(&self, path: &str) -> Vec<Recorded> {
        self.requests.lock().unwrap().iter().filter(|r| r.target.starts_with(path)).cloned().collect()
    }
}

fn serve(stream: std::net::TcpStream, requests: &Mutex<Vec<Recorded>>, script: &Mutex<Script>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or("").to_owned(), parts.next().unwrap_or("").to_owned());
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).is_err() || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.trim_end().split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    let length = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0);
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.to_ascii_lowercase().contains("chunked"));
    let mut body = Vec::new();
    if chunked {
        // Outbound bodies from a guest are streamed: chunked transfer encoding.
        loop {
            let mut size = String::new();
            if reader.read_line(&mut size).is_err() {
                break;
            }
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or("0"), 16).unwrap_or(0);
            let mut chunk = vec![0u8; n + 2];
            if reader.read_exact(&mut chunk).is_err() || n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else {
        body = vec![0u8; length];
        let _ = reader.read_exact(&mut body);
    }
    let mut recorded = Recorded {
        method,
        target: target.clone(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        status: 0,
    };
    let (status, answer) = respond(&recorded, script);
    recorded.status = status;
    requests.lock().unwrap().push(recorded);
    let text = answer.to_string();
    let mut stream = stream;
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
        text.len()
    );
}

fn respond(r: &Recorded, script: &Mutex<Script>) -> (u16, Value) {
    let mut s = script.lock().unwrap();
    if let Some((left, status)) =
        s.failures.iter_mut().find(|(p, (left, _))| r.target.starts_with(p.as_str()) && *left > 0).map(|(_, f)| f)
    {
        *left -= 1;
        return (*status, json!({ "error": "scripted failure" }));
    }
    if r.target.starts_with("/cgi-bin/token") {
        s.token_fetches += 1;
        return (200, json!({ "access_token": s.token, "expires_in": 7200 }));
    }
    if let Some(query) = r.target.strip_prefix("/cgi-bin/message/subscribe/send?access_token=") {
        if query != s.token {
            return (200, json!({ "errcode": 42001, "errmsg": "access_token expired" }));
        }
        let to = r.json()["touser"].as_str().unwrap_or_default().to_owned();
        if s.unsubscribed.contains(&to) {
            return (200, json!({ "errcode": 43101, "errmsg": "user refuse to accept the msg" }));
        }
        return (200, json!({ "errcode": 0, "errmsg": "ok", "msgid": 1 }));
    }
    (200, json!({ "ok": true }))
}
