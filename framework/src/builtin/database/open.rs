//! Opening the pool: the connection URL, the SQLite file's directory, a first connection that
//! reports why the database cannot be reached, then the pool and the migrations.

use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};

use sqlx::AnyConnection;
use sqlx::any::AnyConnectOptions;
use sqlx::{AnyPool, ConnectOptions, Connection};

use super::{DatabaseError, pool_options};
use crate::config::{DatabaseConfig, DatabaseUrl};

pub(super) async fn open(config: &DatabaseConfig) -> Result<AnyPool, DatabaseError> {
    if let Some(message) = config.url.missing_feature() {
        return Err(DatabaseError::FeatureMissing(message));
    }
    sqlx::any::install_default_drivers();
    let shown = config.url.to_string();
    let connect_error = |reason| DatabaseError::Connect {
        url: shown.clone(),
        reason,
    };
    let url = match &config.url {
        DatabaseUrl::SqliteFile { path, params } => DatabaseUrl::SqliteFile {
            path: sqlite_file(path, params)?,
            params: params.clone(),
        },
        other => other.clone(),
    };
    let mut options = AnyConnectOptions::from_str(&connect_url(&url)).map_err(connect_error)?;
    options = if config.echo {
        options.log_statements(log::LevelFilter::Info)
    } else {
        options.log_statements(log::LevelFilter::Debug)
    };
    // The pool would only say that it timed out; one connection of our own says why (refused,
    // unknown database, bad password). It also keeps an in-memory database alive until the
    // pool holds connections of its own.
    let probe = AnyConnection::connect_with(&options)
        .await
        .map_err(connect_error)?;
    let pool = pool_options(config)
        .connect_with(options)
        .await
        .map_err(connect_error)?;
    if let Some(directory) = &config.migrations {
        migrate(&pool, directory).await?;
    }
    let _ = probe.close().await;
    tracing::info!(
        url = %config.url,
        max_connections = config.max_connections(),
        "database pool open"
    );
    Ok(pool)
}

async fn migrate(pool: &AnyPool, directory: &Path) -> Result<(), DatabaseError> {
    let failed = |reason| DatabaseError::Migrations {
        directory: directory.to_path_buf(),
        reason,
    };
    // Without this check a misspelt folder reads as "no migrations" and the schema is missing.
    if !directory.is_dir() {
        let error = std::io::Error::new(std::io::ErrorKind::NotFound, "no such directory");
        return Err(failed(sqlx::migrate::MigrateError::Source(Box::new(error))));
    }
    let migrator = sqlx::migrate::Migrator::new(directory.to_path_buf())
        .await
        .map_err(failed)?;
    migrator.run(pool).await.map_err(failed)?;
    let applied = migrator.iter().count();
    tracing::info!(directory = %directory.display(), migrations = applied, "database migrated");
    Ok(())
}

/// The file with its directory created (unless opened read-only) and its path made absolute,
/// since a URL would read `..` in a relative one as a step up from a host name.
fn sqlite_file(path: &Path, params: &str) -> Result<std::path::PathBuf, DatabaseError> {
    let failed = |reason| DatabaseError::Directory {
        path: path.to_path_buf(),
        reason,
    };
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if !params.contains("mode=ro") {
        std::fs::create_dir_all(parent).map_err(failed)?;
    }
    let file = path.file_name().unwrap_or_default();
    Ok(parent.canonicalize().map_err(failed)?.join(file))
}

/// The URL the driver is given. SQLite files are created when missing (unless opened
/// read-only); an in-memory database gets a name of its own so every connection of the pool
/// sees the same one, and no other pool does.
fn connect_url(url: &DatabaseUrl) -> String {
    static MEMORY: AtomicU64 = AtomicU64::new(0);
    match url {
        DatabaseUrl::SqliteFile { path, params } => {
            let mut query = params.clone();
            if !params.split('&').any(|p| p.starts_with("mode=")) {
                if !query.is_empty() {
                    query.push('&');
                }
                query.push_str("mode=rwc");
            }
            format!("sqlite://{}?{query}", encode_path(path))
        }
        // A `file:` name with a shared cache is what lets several connections open one
        // in-memory database.
        DatabaseUrl::SqliteMemory => format!(
            "sqlite:file:beginnings-memory-{}-{}?mode=memory&cache=shared",
            std::process::id(),
            MEMORY.fetch_add(1, Ordering::Relaxed)
        ),
        DatabaseUrl::Postgres(url) => url.clone(),
    }
}

/// Percent-encodes what a URL would read as something other than a path (`?`, `#`, `%`,
/// spaces); the SQLite driver decodes it again.
fn encode_path(path: &Path) -> String {
    let mut out = String::new();
    for byte in path.to_string_lossy().bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn sqlite_files_are_created_unless_a_mode_is_given() {
        let file = |params: &str| DatabaseUrl::SqliteFile {
            path: PathBuf::from("/srv/my data/app.db"),
            params: params.to_owned(),
        };
        assert_eq!(
            connect_url(&file("")),
            "sqlite:///srv/my%20data/app.db?mode=rwc"
        );
        assert_eq!(
            connect_url(&file("mode=ro")),
            "sqlite:///srv/my%20data/app.db?mode=ro"
        );
        assert_ne!(
            connect_url(&DatabaseUrl::SqliteMemory),
            connect_url(&DatabaseUrl::SqliteMemory)
        );
    }
}
