//! `check`: everything the server does before it binds, and nothing after.

use std::process::ExitCode;

use beginnings::Router;

use crate::options::BuildOptions;

/// Builds the application; prints a summary on stdout, or every problem on stderr.
pub fn check(options: &BuildOptions, routers: Vec<Router>) -> ExitCode {
    match options.build(routers) {
        Ok(runtime) => {
            let config = runtime.config();
            if let Err(problem) = store_reachable(runtime.shared_store(), &config.app.shared_store)
            {
                eprintln!("{problem}");
                eprintln!(
                    "check failed: 1 problem in {}",
                    options.file.config.display()
                );
                return ExitCode::FAILURE;
            }
            let files: Vec<String> = config
                .files
                .iter()
                .map(|file| file.display().to_string())
                .collect();
            println!(
                "ok: {} (form: {}; profile: {}), {}, {}",
                files.join(", "),
                config.form,
                config.profile.as_deref().unwrap_or("none"),
                counted(runtime.extensions().len(), "extension"),
                counted(runtime.routes().len(), "route"),
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            // The runtime's errors already put one problem on each line, with its location.
            eprintln!("{error}");
            eprintln!(
                "check failed: {} in {}",
                counted(problem_count(&error), "problem"),
                options.file.config.display()
            );
            ExitCode::FAILURE
        }
    }
}

/// A configured Redis store must answer now; the in-process store always does.
fn store_reachable(
    store: &beginnings::SharedStore,
    config: &beginnings::config::StoreConfig,
) -> Result<(), String> {
    let beginnings::config::StoreConfig::Redis(url) = config else {
        return Ok(());
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start a runtime to reach the store: {e}"))?;
    // A first connection may take longer than one operation's budget.
    runtime.block_on(async {
        for _ in 0..20 {
            if store.ping().await.is_ok() {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        // Only the host part: the URL may carry a password.
        let host = url.rsplit('@').next().unwrap_or(url);
        let host = host
            .trim_start_matches("redis://")
            .trim_start_matches("rediss://");
        Err(format!(
            "app.shared_store: the Redis server at {host} does not answer; start it or use `memory`"
        ))
    })
}

fn problem_count(error: &beginnings::Error) -> usize {
    match error {
        beginnings::Error::Config(config) => config.problems.len(),
        beginnings::Error::Load(load) => load.0.len(),
        _ => 1,
    }
}

fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
