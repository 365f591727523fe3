//! `check`: everything the server does before it binds, and nothing after.

use std::process::ExitCode;

use beginnings::Router;

use crate::options::BuildOptions;

/// Builds the application; prints a summary on stdout, or every problem on stderr.
pub fn check(options: &BuildOptions, routers: Vec<Router>) -> ExitCode {
    match options.build(routers) {
        Ok(runtime) => {
            let config = runtime.config();
            let files: Vec<String> = config
                .files
                .iter()
                .map(|file| file.display().to_string())
                .collect();
            println!(
                "ok: {} ({} form, profile {}), {}, {}",
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
