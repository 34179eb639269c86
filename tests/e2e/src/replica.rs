//! Replicas of the suite: more `wangge-host` processes serving the same application on
//! the same PostgreSQL databases and Redis, as a platform team scales a function out.
//! Each is its own process, so that a test can `kill -9` one.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use wangge_host::AppOptions;

use crate::workspace_root;

/// One more `wangge-host up` process of an application.
pub struct Replica {
    pub base: String,
    child: Child,
}

impl Replica {
    /// Serves `options` (the same databases, key-value store and variables as the suite
    /// they started) on a free loopback port; `name` keeps its logs apart.
    pub fn spawn(options: &AppOptions, name: &str) -> Replica {
        let dir = options.state_dir.clone().expect("state dir").join(format!("replica-{name}"));
        let (child, base) = start_host(options, "127.0.0.1:0", &dir, &[]);
        Replica { base, child }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// `kill -9`: the process ends at once, mid-request, with nothing flushed or closed.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `wangge-host up` serving `options` on `listen` with its state in `state_dir`
/// (`extra`: more arguments, such as `--clock`); returns the process once it serves, and
/// its base URL. Its stdout is read on, so that it never blocks on a full pipe.
pub fn start_host(options: &AppOptions, listen: &str, state_dir: &std::path::Path, extra: &[&str]) -> (Child, String) {
    let host = workspace_root().join("target/release/wangge-host");
    assert!(host.exists(), "{} is missing: scripts/setup.sh builds it", host.display());
    std::fs::create_dir_all(state_dir).expect("state dir");
    let mut command = Command::new(host);
    command.arg("up").arg("-f").arg(&options.manifest).args(["--listen", listen, "--quiet"]).args(extra);
    command.arg("--state-dir").arg(state_dir);
    if let Some(config) = &options.runtime_config {
        command.arg("--runtime-config-file").arg(config);
    }
    for component in &options.components {
        command.args(["-c", component]);
    }
    for (name, value) in &options.variables {
        command.arg("--variable").arg(format!("{name}={value}"));
    }
    command.env("SPIN_MAX_INSTANCE_COUNT", options.max_instances.to_string());
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("starting wangge-host: {e}"));
    let stdout = child.stdout.take().expect("the host's stdout");
    let mut lines = BufReader::new(stdout).lines();
    let base = loop {
        match lines.next() {
            Some(Ok(line)) if line.starts_with("Serving ") => break line["Serving ".len()..].trim().to_owned(),
            Some(Ok(_)) => continue,
            _ => panic!("wangge-host on {listen} exited before serving (status {:?})", child.try_wait()),
        }
    };
    std::thread::spawn(move || for _ in lines {});
    (child, base)
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.kill();
    }
}
