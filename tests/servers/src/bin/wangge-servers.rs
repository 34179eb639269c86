//! `wangge-servers --dir DIR [--postgres-port N] [--redis-port N]`: starts a private
//! PostgreSQL and Redis for `scripts/up.sh --cluster` when no URLs are given, their data
//! kept in DIR across runs. Prints `POSTGRES_URL=…` and `REDIS_URL=…`, then `READY`, and
//! runs until it is killed or its standard input closes; the servers stop with it.

use std::io::Read;
use std::path::PathBuf;

use wangge_test_servers::{PostgresServer, RedisServer};

fn main() {
    let mut dir = None;
    let (mut pg_port, mut redis_port) = (55432u16, 56379u16);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().unwrap_or_else(|| usage(&format!("{arg} needs a value")));
        match arg.as_str() {
            "--dir" => dir = Some(PathBuf::from(value())),
            "--postgres-port" => pg_port = value().parse().unwrap_or_else(|_| usage("--postgres-port: a port")),
            "--redis-port" => redis_port = value().parse().unwrap_or_else(|_| usage("--redis-port: a port")),
            other => usage(&format!("unknown argument `{other}`")),
        }
    }
    let dir = dir.unwrap_or_else(|| usage("--dir is required"));
    let dir = std::path::absolute(&dir).unwrap_or(dir);
    // fsync on: this server keeps a city's state, and benchmarks measure real commits.
    let postgres =
        PostgresServer::start_in(&dir.join("postgres"), pg_port, &[("fsync", "on"), ("max_connections", "400")]);
    let redis = RedisServer::start_in(&dir.join("redis"), redis_port);
    println!("POSTGRES_URL=postgres://postgres@127.0.0.1:{}", postgres.port);
    println!("REDIS_URL={}", redis.url());
    println!("READY");
    // Until stdin closes (the caller went away) or a signal ends the process; either way
    // the servers stop: dropped here, or by their parent-death signal.
    let _ = std::io::stdin().read_to_end(&mut Vec::new());
    drop(redis);
    drop(postgres);
}

fn usage(problem: &str) -> ! {
    eprintln!("wangge-servers: {problem}\nusage: wangge-servers --dir DIR [--postgres-port N] [--redis-port N]");
    std::process::exit(2)
}
