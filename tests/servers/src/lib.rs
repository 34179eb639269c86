//! Private PostgreSQL and Redis servers for tests: Debian's binaries, a free loopback
//! port, a directory under `target/test-state/`, everything removed on drop.
//!
//! PostgreSQL refuses to run as root (CI runs as root), so as root the server runs
//! as the system user `wangge-pg`, created when missing, through `setpriv`. Both
//! servers get `--pdeathsig`, so they stop if the test process dies without
//! dropping them (killed, or aborting). The signal comes when the *thread* that
//! started them ends: start them on the thread that uses them (a test's own thread).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The repository's root (this crate sits at `tests/servers`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("workspace root")
}

/// The unprivileged user PostgreSQL runs as when the tests run as root.
pub const PG_USER: &str = "wangge-pg";

/// A port no one listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free loopback port")
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").map(|m| m.uid() == 0).unwrap_or(false)
}

fn state_dir(kind: &str, name: &str) -> PathBuf {
    let dir = workspace_root().join("target/test-state").join(format!("{kind}-server-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    dir
}

fn command_exists(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `(uid, gid)` of `user`, creating it as a system user when missing (as root).
fn system_user(user: &str) -> (u32, u32) {
    static CREATING: Mutex<()> = Mutex::new(());
    let _guard = CREATING.lock().unwrap_or_else(|e| e.into_inner());
    let id = |flag: &str| {
        let out = Command::new("id").args([flag, user]).output().ok()?;
        if !out.status.success() {
            return None;
        }
        String::from_utf8_lossy(&out.stdout).trim().parse::<u32>().ok()
    };
    if id("-u").is_none() {
        let status = Command::new("useradd")
            .args(["--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", user])
            .status();
        assert!(
            id("-u").is_some(),
            "could not create the system user `{user}` to run PostgreSQL as (useradd: {status:?})"
        );
    }
    (id("-u").expect("uid"), id("-g").expect("gid"))
}

/// The directory of PostgreSQL's server binaries: `$PG_BIN`, else Debian's newest.
pub fn postgres_bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| bin.join("initdb").exists())
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin).unwrap_or_else(|| {
        panic!("PostgreSQL server binaries not found under /usr/lib/postgresql: run scripts/setup.sh (or set PG_BIN)")
    })
}

/// A command run as the database user when we are root, and killed with `signal`
/// if the thread that started it ends.
fn unprivileged(program: &Path, user: Option<(u32, u32)>, signal: &str) -> Command {
    if !command_exists("setpriv") {
        assert!(user.is_none(), "setpriv (util-linux) is needed to run PostgreSQL as `{PG_USER}`");
        return Command::new(program);
    }
    let mut command = Command::new("setpriv");
    if let Some((uid, gid)) = user {
        command.args(["--reuid", &uid.to_string(), "--regid", &gid.to_string(), "--clear-groups"]);
    }
    command.args(["--pdeathsig", signal, "--"]).arg(program);
    command
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

/// A private PostgreSQL server: `trust` authentication for user `postgres` on
/// 127.0.0.1 only, no Unix socket, `fsync` off (tests, not durability).
pub struct PostgresServer {
    pub port: u16,
    dir: PathBuf,
    bin: PathBuf,
    /// Who the server runs as when we are root: `(uid, gid)` of [`PG_USER`].
    user: Option<(u32, u32)>,
    settings: Vec<(String, String)>,
    child: Option<Child>,
    /// Keep the data directory when dropped (a server of `scripts/up.sh --cluster`).
    keep: bool,
}

impl PostgresServer {
    /// Starts one with PostgreSQL's default settings (`max_connections` 100).
    pub fn start(name: &str) -> PostgresServer {
        PostgresServer::start_with(name, &[])
    }

    /// Starts one with extra settings, e.g. `[("max_connections", "20")]`.
    pub fn start_with(name: &str, settings: &[(&str, &str)]) -> PostgresServer {
        PostgresServer::launch(state_dir("postgres", name), free_port(), settings, false)
    }

    /// Starts one whose data stays in `dir` across runs (created on first use), on `port`.
    pub fn start_in(dir: &Path, port: u16, settings: &[(&str, &str)]) -> PostgresServer {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        PostgresServer::launch(dir.to_owned(), port, settings, true)
    }

    fn launch(dir: PathBuf, port: u16, settings: &[(&str, &str)], keep: bool) -> PostgresServer {
        let bin = postgres_bin_dir();
        let data = dir.join("data");
        let initialised = data.join("PG_VERSION").exists();
        let user = is_root().then(|| system_user(PG_USER));
        std::fs::create_dir_all(&data).expect("data dir");
        if let Some((uid, gid)) = user {
            for path in [&dir, &data] {
                std::os::unix::fs::chown(path, Some(uid), Some(gid))
                    .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
            }
        }
        let settings = settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let mut server = PostgresServer { port, dir, bin, user, settings, child: None, keep };
        if !initialised {
            server.initdb();
        }
        server.spawn();
        server
    }

    fn initdb(&self) {
        let (bin, data, user) = (&self.bin, self.dir.join("data"), self.user);
        let initdb = unprivileged(&bin.join("initdb"), user, "KILL")
            .arg("-D")
            .arg(&data)
            .args(["-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"])
            .output()
            .unwrap_or_else(|e| panic!("running initdb: {e}"));
        assert!(
            initdb.status.success(),
            "initdb failed: {}{}",
            String::from_utf8_lossy(&initdb.stdout),
            String::from_utf8_lossy(&initdb.stderr)
        );
    }

    /// Starts the server process on the data directory and port, and waits for it.
    fn spawn(&mut self) {
        let log_path = self.dir.join("postgres.log");
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&log_path).expect("log file");
        if let Some((uid, gid)) = self.user {
            let _ = std::os::unix::fs::chown(&log_path, Some(uid), Some(gid));
        }
        let mut command = unprivileged(&self.bin.join("postgres"), self.user, "INT");
        command.arg("-D").arg(self.dir.join("data")).args(["-p", &self.port.to_string()]);
        let defaults = [("listen_addresses", "127.0.0.1"), ("unix_socket_directories", ""), ("fsync", "off")];
        for (name, value) in
            defaults.iter().map(|(k, v)| (*k, *v)).chain(self.settings.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        {
            command.arg("-c").arg(format!("{name}={value}"));
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting postgres: {e}"));
        self.child = Some(child);
        self.wait_ready();
    }

    /// Stops the server and starts it again on the same port and data: what a
    /// database failover or restart looks like to the app.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    /// Starts a server [`PostgresServer::stop`]ped earlier again, on the same port and data.
    pub fn restart_stopped(&mut self) {
        if self.child.is_none() {
            self.spawn();
        }
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("postgres exited ({status}):\n{}", log_tail(&self.dir.join("postgres.log")));
            }
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-q", "-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", "postgres"])
                .status()
                .is_ok_and(|s| s.success());
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "postgres not ready after 30 s:\n{}",
                log_tail(&self.dir.join("postgres.log"))
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `postgres://postgres@127.0.0.1:<port>/<database>`.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Runs SQL with `psql` against `database`; returns its unaligned output.
    pub fn sql(&self, database: &str, sql: &str) -> String {
        let out = Command::new(self.bin.join("psql"))
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres"])
            .args(["-p", &self.port.to_string(), "-d", database, "-c", sql])
            .output()
            .unwrap_or_else(|e| panic!("running psql: {e}"));
        assert!(out.status.success(), "psql `{sql}`: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim_end().to_owned()
    }

    /// Everything in `database`, as `pg_dump` writes it (plain SQL).
    pub fn dump(&self, database: &str) -> Vec<u8> {
        let out = Command::new(self.bin.join("pg_dump"))
            .args(["-h", "127.0.0.1", "-U", "postgres", "-p", &self.port.to_string(), database])
            .output()
            .unwrap_or_else(|e| panic!("running pg_dump: {e}"));
        assert!(out.status.success(), "pg_dump {database}: {}", String::from_utf8_lossy(&out.stderr));
        out.stdout
    }

    /// Creates `database` (empty, owned by `postgres`).
    pub fn create_database(&self, database: &str) {
        self.sql("postgres", &format!("CREATE DATABASE \"{database}\""));
    }

    /// Stops the server (fast shutdown: sessions are ended, open transactions roll back).
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        let _ = Command::new("kill").args(["-INT", &child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for PostgresServer {
    fn drop(&mut self) {
        self.stop();
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A private `redis-server`: 127.0.0.1 only; no persistence for tests, an append-only
/// file for [`RedisServer::start_in`].
pub struct RedisServer {
    pub port: u16,
    dir: PathBuf,
    child: Child,
    keep: bool,
}

impl RedisServer {
    pub fn start(name: &str) -> RedisServer {
        RedisServer::launch(state_dir("redis", name), free_port(), false)
    }

    /// Starts one whose data stays in `dir` across runs (an append-only file), on `port`.
    pub fn start_in(dir: &Path, port: u16) -> RedisServer {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        RedisServer::launch(dir.to_owned(), port, true)
    }

    fn launch(dir: PathBuf, port: u16, keep: bool) -> RedisServer {
        let program = Path::new("redis-server");
        assert!(command_exists("redis-server"), "redis-server is not installed: run scripts/setup.sh");
        let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("redis.log")).expect("log file");
        let append_only = if keep { "yes" } else { "no" };
        let child = unprivileged(program, None, "KILL")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", append_only])
            // A database per test (`redis://…/<n>`), as many as a test process needs.
            .args(["--databases", "10000"])
            .arg("--dir")
            .arg(&dir)
            .args(["--daemonize", "no"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("starting redis-server: {e}"));
        let mut server = RedisServer { port, dir, child, keep };
        let deadline = Instant::now() + Duration::from_secs(15);
        while !server.ping() {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("redis-server exited ({status}):\n{}", log_tail(&server.dir.join("redis.log")));
            }
            assert!(Instant::now() < deadline, "redis-server not ready:\n{}", log_tail(&server.dir.join("redis.log")));
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    fn ping(&self) -> bool {
        let Ok(mut stream) = TcpStream::connect(("127.0.0.1", self.port)) else { return false };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
        let mut reply = [0u8; 7];
        stream.write_all(b"PING\r\n").is_ok() && stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// One PostgreSQL server for the whole test process, started on first use. Each test
/// takes a fresh database of it ([`fresh_database`]).
pub fn shared_postgres() -> &'static PostgresServer {
    static SERVER: std::sync::OnceLock<&'static PostgresServer> = std::sync::OnceLock::new();
    SERVER.get_or_init(|| {
        on_a_thread_of_its_own("shared-postgres", || {
            // `WANGGE_PG_SETTINGS=fsync=on,…` adds settings: the benchmarks measure real commits.
            let extra = std::env::var("WANGGE_PG_SETTINGS").unwrap_or_default();
            let mut settings = vec![("max_connections", "400"), ("shared_buffers", "64MB")];
            settings.extend(extra.split(',').filter_map(|pair| pair.split_once('=')));
            PostgresServer::start_with("shared", &settings)
        })
    })
}

/// One Redis server for the whole test process, like [`shared_postgres`].
pub fn shared_redis() -> &'static RedisServer {
    static SERVER: std::sync::OnceLock<&'static RedisServer> = std::sync::OnceLock::new();
    SERVER.get_or_init(|| on_a_thread_of_its_own("shared-redis", || RedisServer::start("shared")))
}

/// Starts a server on a thread that never ends, and keeps it for the process: its
/// `--pdeathsig` fires when the thread that started it ends, so only when the process does.
fn on_a_thread_of_its_own<T: Send + Sync + 'static>(
    name: &str,
    start: impl FnOnce() -> T + Send + 'static,
) -> &'static T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            let server: &'static T = Box::leak(Box::new(start()));
            tx.send(server).expect("the starting test waits");
            loop {
                std::thread::park();
            }
        })
        .expect("a thread for the shared server");
    rx.recv().unwrap_or_else(|_| panic!("the {name} server did not start"))
}

/// A new, empty database on the [`shared_postgres`] server, named after `name` and
/// unique in this process; returns its URL.
pub fn fresh_database(name: &str) -> String {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let server = shared_postgres();
    let clean: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' }).collect();
    let database = format!("{}_{}", &clean[..clean.len().min(40)], NEXT.fetch_add(1, Ordering::SeqCst));
    server.create_database(&database);
    server.url(&database)
}
