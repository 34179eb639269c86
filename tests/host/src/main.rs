//! `wangge-host up`: serve a Spin application without Spin.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use wangge_host::{App, AppOptions, GuestLogs, SimClock};

#[derive(Parser)]
#[command(name = "wangge-host", version, about = "A Spin-compatible host on wasmtime")]
struct Cli {
    #[command(subcommand)]
    command: Commands,
}

#[derive(Subcommand)]
enum Commands {
    /// Serve the application, like `spin up`.
    Up(Up),
}

#[derive(Parser)]
struct Up {
    /// The application manifest.
    #[arg(short = 'f', long = "from", default_value = "spin.toml")]
    manifest: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    listen: String,
    /// Run only this component (repeatable), like `spin up -c`.
    #[arg(short = 'c', long = "component-id")]
    components: Vec<String>,
    /// Runtime configuration: where stores and databases live.
    #[arg(long)]
    runtime_config_file: Option<PathBuf>,
    /// State directory (default: `.spin` beside the manifest).
    #[arg(long)]
    state_dir: Option<PathBuf>,
    /// SQL, `@file` or `@file:label` to run before serving (repeatable).
    #[arg(long = "sqlite")]
    sqlite: Vec<String>,
    /// `name=value` for an application variable (repeatable).
    #[arg(long = "variable")]
    variables: Vec<String>,
    /// Write guests' output to `<state-dir>/logs` instead of the terminal.
    #[arg(long)]
    quiet: bool,
    /// Connections per PostgreSQL address, at most (Spin's is 64).
    #[arg(long, default_value_t = wangge_host::postgres::DEFAULT_POOL_SIZE)]
    pg_pool_size: usize,
    /// Test-only: a simulated WASI wall clock, set over `GET`/`PUT /_wangge/clock` (Spin has none).
    #[arg(long)]
    clock: bool,
}

fn main() -> Result<()> {
    let Commands::Up(up) = Cli::parse().command;
    let mut variables = BTreeMap::new();
    for pair in &up.variables {
        let Some((k, v)) = pair.split_once('=') else { bail!("--variable takes name=value, not `{pair}`") };
        variables.insert(k.to_owned(), v.to_owned());
    }
    let max_instances = std::env::var("SPIN_MAX_INSTANCE_COUNT").ok().and_then(|v| v.parse().ok()).unwrap_or(1000);
    let options = AppOptions {
        manifest: up.manifest,
        runtime_config: up.runtime_config_file,
        state_dir: up.state_dir,
        components: up.components,
        sqlite_statements: up.sqlite,
        variables,
        max_instances,
        guest_logs: if up.quiet { GuestLogs::Files } else { GuestLogs::Inherit },
        pg_pool_size: up.pg_pool_size,
        clock: up.clock.then(SimClock::new),
    };
    let app = App::load(&options)?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(&up.listen).await.with_context(|| format!("binding {}", up.listen))?;
        let addr = listener.local_addr()?;
        println!("Serving http://{addr}");
        println!("Available components: {}", app.components().join(", "));
        if app.clock().is_some() {
            println!("Simulation clock: GET/PUT http://{addr}{}", wangge_host::clock::CONTROL_PATH);
        }
        app.serve(listener, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
    })
}
