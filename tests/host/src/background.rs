//! An application served from its own thread and runtime: what tests and
//! benchmarks start in-process on an ephemeral port.

use std::net::SocketAddr;

use anyhow::Result;

use crate::{App, AppOptions};

/// A running application; dropping it stops the server.
pub struct RunningApp {
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    pub app: App,
}

impl RunningApp {
    /// Loads `options` and serves on `listen` (`127.0.0.1:0` for an ephemeral port).
    pub fn start(options: &AppOptions, listen: &str) -> Result<RunningApp> {
        let app = App::load(options)?;
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind(listen))?;
        let addr = listener.local_addr()?;
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let serving = app.clone();
        let thread = std::thread::spawn(move || {
            runtime.block_on(async move {
                let _ = serving
                    .serve(listener, async {
                        let _ = rx.await;
                    })
                    .await;
            });
            runtime.shutdown_background();
        });
        Ok(RunningApp { addr, shutdown: Some(tx), thread: Some(thread), app })
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

impl Drop for RunningApp {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
