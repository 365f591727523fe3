//! Servers run inside the test process: the real loader and real libraries, a real listener
//! on 127.0.0.1:0, and the runtime's API within reach (commands, metrics).

use std::sync::Arc;
use std::thread;

use beginnings::telemetry::metrics::Registry;
use beginnings::{App, ExtensionHandle, Runtime};
use tokio::sync::oneshot;

use crate::{ConfigDir, build_dir, ensure_built};

/// Loads `yaml` (written to a temporary directory) into an application whose extensions come
/// from the build directory. The directory must outlive the application.
pub fn app_from_yaml(yaml: &str) -> (App, ConfigDir) {
    ensure_built();
    let config = ConfigDir::new(yaml);
    let app = App::from_file(config.app_yaml(), None)
        .unwrap_or_else(|e| panic!("configuration loads: {e}"))
        .extensions_dir(build_dir());
    (app, config)
}

/// A server serving on its own runtime thread until dropped.
pub struct InProcessServer {
    pub base: String,
    /// The running extensions, by `module:Type`, for commands.
    extensions: Vec<(String, ExtensionHandle<'static>)>,
    /// The application's metrics, which its `/metrics` reports.
    metrics: Arc<Registry>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl InProcessServer {
    pub fn start(runtime: Runtime) -> InProcessServer {
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let metrics = runtime.metrics().clone();
        let names: Vec<String> = runtime
            .extensions()
            .iter()
            .map(|e| e.name.clone())
            .collect();
        let thread = thread::spawn(move || {
            let tokio = beginnings::tokio_runtime(Some(2)).expect("runtime");
            tokio.block_on(async move {
                let server = runtime.bind(Some("127.0.0.1:0")).await.expect("binds");
                let extensions = names
                    .into_iter()
                    .filter_map(|name| Some((name.clone(), server.extension(&name)?)))
                    .collect();
                ready_tx
                    .send((format!("http://{}", server.local_addr()), extensions))
                    .unwrap();
                server
                    .run_until(async {
                        let _ = stop_rx.await;
                    })
                    .await
                    .expect("serves");
            });
        });
        let (base, extensions) = ready_rx.recv().expect("server started");
        InProcessServer {
            base,
            extensions,
            metrics,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// The application's metrics (what its extensions and server count).
    pub fn metrics(&self) -> &Registry {
        &self.metrics
    }

    /// A running extension, by `module:Type` (to send it commands).
    pub fn extension(&self, name: &str) -> &ExtensionHandle<'static> {
        self.extensions
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, handle)| handle)
            .unwrap_or_else(|| panic!("{name} is not loaded"))
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops accepting, drains, runs the shutdown hooks, and waits for all of it.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take()
            && let Err(panic) = thread.join()
            // A panic of the server thread fails the test, unless the test is already
            // failing (a second panic while unwinding would abort the test binary).
            && !thread::panicking()
        {
            std::panic::resume_unwind(panic);
        }
    }
}

impl Drop for InProcessServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}
