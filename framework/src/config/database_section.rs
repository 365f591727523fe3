//! The `database:` section: the pooled connection the application's handlers query.
//!
//! The keys are the pool settings users know from SQLAlchemy (`pool_size`, `max_overflow`,
//! `pool_pre_ping`, `pool_recycle`, `echo`); [`crate::builtin::Database`] maps them onto the
//! pool's real options.
//!
//! Each backend is a cargo feature of `beginnings` (`sqlite`, `postgres`, both on by
//! default): a URL whose backend this binary was built without is reported at the key that
//! chose it, with the feature to enable.

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::app_section::{integer, seconds};
use super::error::{needs_feature, push_key, unknown_key_message};
use super::node::Span;
use super::node::{Entry, Kind};
use super::validate::{Ctx, set_bool, set_string};

/// The keys `database:` accepts.
pub(crate) const DATABASE_KEYS: &[&str] = &[
    "url",
    "pool_size",
    "max_overflow",
    "pool_pre_ping",
    "pool_recycle",
    "echo",
    "acquire_timeout",
    "migrations",
];

/// The URL used when `database:` names none: a SQLite file beside the configuration.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data/app.db";

/// `database:` after validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseConfig {
    pub url: DatabaseUrl,
    /// Connections kept open (the pool's minimum).
    pub pool_size: u32,
    /// Connections opened beyond `pool_size` under load; the pool's maximum is the sum.
    pub max_overflow: u32,
    /// Check a connection is alive before handing it out.
    pub pool_pre_ping: bool,
    /// Connections older than this are closed and replaced; `None` keeps them.
    pub pool_recycle: Option<Duration>,
    /// Log every statement at info level.
    pub echo: bool,
    /// How long a handler waits for a free connection before its request is answered 503.
    pub acquire_timeout: Duration,
    /// Migrations run at start-up, resolved against the configuration file's directory.
    pub migrations: Option<PathBuf>,
}

impl DatabaseConfig {
    /// The defaults for `url`.
    pub fn new(url: DatabaseUrl) -> Self {
        DatabaseConfig {
            url,
            pool_size: 5,
            max_overflow: 10,
            pool_pre_ping: true,
            pool_recycle: Some(Duration::from_secs(3600)),
            echo: false,
            acquire_timeout: Duration::from_secs(5),
            migrations: None,
        }
    }

    /// The most connections the pool opens at once.
    pub fn max_connections(&self) -> u32 {
        self.pool_size.saturating_add(self.max_overflow).max(1)
    }
}

/// What the pool connects to.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// A SQLite file (absolute once resolved), created with its directory when missing;
    /// `params` is the URL's query (`mode=ro`), empty when none.
    SqliteFile { path: PathBuf, params: String },
    /// A SQLite database in memory, shared by the pool's connections, gone with the process.
    SqliteMemory,
    /// `postgres://` or `postgresql://`, as written.
    Postgres(String),
}

impl DatabaseUrl {
    /// Parses `url`, resolving a relative SQLite path against `base_dir`.
    pub fn parse(url: &str, base_dir: &Path) -> Result<DatabaseUrl, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(url.to_owned()));
        }
        let Some(rest) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        else {
            // Only the scheme is shown: the rest may hold a password.
            let shown = match url.split_once(':') {
                Some((scheme, _)) => format!("{scheme}:..."),
                None => url.to_owned(),
            };
            return Err(format!(
                "unsupported database URL `{shown}`: expected sqlite://PATH, sqlite::memory: or postgres://..."
            ));
        };
        let (file, params) = rest.split_once('?').unwrap_or((rest, ""));
        if file.is_empty() || file == ":memory:" {
            if !params.is_empty() {
                return Err("an in-memory SQLite URL takes no parameters".to_owned());
            }
            return Ok(DatabaseUrl::SqliteMemory);
        }
        Ok(DatabaseUrl::SqliteFile {
            path: base_dir.join(file),
            params: params.to_owned(),
        })
    }

    pub fn is_sqlite(&self) -> bool {
        !matches!(self, DatabaseUrl::Postgres(_))
    }

    /// The cargo feature of `beginnings` that drives this URL's database.
    pub fn feature(&self) -> &'static str {
        if self.is_sqlite() {
            "sqlite"
        } else {
            "postgres"
        }
    }

    /// Whether this binary was built with [`DatabaseUrl::feature`].
    pub fn is_compiled_in(&self) -> bool {
        match self {
            DatabaseUrl::Postgres(_) => cfg!(feature = "postgres"),
            DatabaseUrl::SqliteFile { .. } | DatabaseUrl::SqliteMemory => cfg!(feature = "sqlite"),
        }
    }

    /// Why this binary cannot open this URL, if it cannot: the scheme only (the rest may hold a
    /// password) and the feature to enable.
    pub fn missing_feature(&self) -> Option<String> {
        let scheme = match self {
            DatabaseUrl::SqliteFile { .. } => "sqlite://",
            DatabaseUrl::SqliteMemory => "sqlite::memory:",
            DatabaseUrl::Postgres(_) => "postgres://",
        };
        (!self.is_compiled_in()).then(|| needs_feature(scheme, self.feature()))
    }
}

/// Never prints a PostgreSQL password, since URLs end up in logs and error messages.
impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::SqliteFile { path, .. } => write!(f, "sqlite://{}", path.display()),
            DatabaseUrl::SqliteMemory => f.write_str("sqlite::memory:"),
            DatabaseUrl::Postgres(url) => {
                let (scheme, rest) = url.split_once("://").unwrap_or(("postgres", url));
                match rest.rsplit_once('@') {
                    Some((user, host)) if user.contains(':') => {
                        let user = user.split(':').next().unwrap_or_default();
                        write!(f, "{scheme}://{user}:***@{host}")
                    }
                    _ => f.write_str(url),
                }
            }
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

pub(crate) fn database(
    entry: Option<&Entry>,
    base_dir: &Path,
    ctx: &mut Ctx<'_>,
) -> Option<DatabaseConfig> {
    let entry = entry?;
    let fields = ctx.map_entries(entry, "database", "a mapping")?;
    let default_url = DatabaseUrl::parse(DEFAULT_DATABASE_URL, base_dir).ok()?;
    let mut database = DatabaseConfig::new(default_url);
    // Where the URL was chosen: its key, or the section when the default applies.
    let mut url_at: Option<(Span, String)> = Some((entry.key_span, "database".to_owned()));
    for field in fields {
        let path = push_key("database", &field.key);
        if field.value.is_invalid() {
            continue;
        }
        match field.key.as_str() {
            "url" => {
                let mut url = String::new();
                set_string(&mut url, field, &path, ctx);
                if !url.is_empty() {
                    // A URL that does not parse is reported as such, not as a missing feature.
                    url_at = None;
                    match DatabaseUrl::parse(&url, base_dir) {
                        Ok(parsed) => {
                            database.url = parsed;
                            url_at = Some((field.value.span, path));
                        }
                        Err(message) => ctx.report(field.value.span, &path, message),
                    }
                }
            }
            "pool_size" => {
                if let Some(n) = count(field, &path, 1, ctx) {
                    database.pool_size = n;
                }
            }
            "max_overflow" => {
                if let Some(n) = count(field, &path, 0, ctx) {
                    database.max_overflow = n;
                }
            }
            "pool_pre_ping" => set_bool(&mut database.pool_pre_ping, field, &path, ctx),
            "echo" => set_bool(&mut database.echo, field, &path, ctx),
            // SQLAlchemy's `-1` ("never") is accepted so its configurations move over unchanged.
            "pool_recycle" => match (&field.value.kind, field.value.as_int()) {
                (Kind::Null, _) | (_, Some(-1 | 0)) => database.pool_recycle = None,
                _ => database.pool_recycle = seconds(field, &path, ctx),
            },
            "acquire_timeout" => match seconds(field, &path, ctx) {
                Some(d) if !d.is_zero() => database.acquire_timeout = d,
                Some(_) => ctx.report(field.value.span, &path, "must be more than 0 seconds"),
                None => {}
            },
            "migrations" => match &field.value.kind {
                Kind::Null => database.migrations = None,
                _ => {
                    let mut dir = String::new();
                    set_string(&mut dir, field, &path, ctx);
                    if !dir.is_empty() {
                        database.migrations = Some(base_dir.join(dir));
                    }
                }
            },
            other => ctx.report(
                field.key_span,
                &path,
                unknown_key_message(other, DATABASE_KEYS),
            ),
        }
    }
    if let (Some((span, path)), Some(message)) = (url_at, database.url.missing_feature()) {
        ctx.report(span, &path, message);
    }
    Some(database)
}

/// A connection count from `min` up to 10 000.
fn count(field: &Entry, path: &str, min: u32, ctx: &mut Ctx<'_>) -> Option<u32> {
    integer(field, path, min.into(), 10_000, ctx).map(|n| n as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_resolve_against_the_configuration_directory() {
        let base = Path::new("/srv/app/config");
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/app.db", base).unwrap(),
            DatabaseUrl::SqliteFile {
                path: PathBuf::from("/srv/app/config/data/app.db"),
                params: String::new()
            }
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite:///var/db/x.db?mode=ro", base).unwrap(),
            DatabaseUrl::SqliteFile {
                path: PathBuf::from("/var/db/x.db"),
                params: "mode=ro".to_owned()
            }
        );
        assert_eq!(
            DatabaseUrl::parse("sqlite::memory:", base).unwrap(),
            DatabaseUrl::SqliteMemory
        );
        assert!(DatabaseUrl::parse("mysql://x", base).is_err());
    }

    /// The problems of `yaml` loaded as `config/app.yaml`, or its `database:` when it loads.
    fn database_of(yaml: &str) -> Result<Option<DatabaseConfig>, Vec<String>> {
        crate::config::load_str_with_env(yaml, Path::new("config/app.yaml"), &|_| None)
            .map(|config| config.database)
            .map_err(|error| error.problems.iter().map(ToString::to_string).collect())
    }

    /// Runs in both builds: with the backend's feature the URL is taken, without it the
    /// configuration is refused at the key that chose it (file, line, column, key), naming the
    /// feature and never the password.
    #[test]
    fn a_url_needs_the_feature_of_its_backend() {
        let yaml = "app:\n  name: blog\ndatabase:\n  url: postgres://app:hunter2@db/app\n";
        let postgres = DatabaseUrl::Postgres("postgres://app:hunter2@db/app".to_owned());
        match database_of(yaml) {
            Ok(database) if cfg!(feature = "postgres") => {
                assert_eq!(database.unwrap().url, postgres);
            }
            outcome => assert_eq!(
                outcome.unwrap_err(),
                [
                    "config/app.yaml:4:8: database.url: postgres:// needs the beginnings feature \
                     \"postgres\", which this binary was built without (add \"postgres\" to the \
                     features of its `beginnings` dependency)"
                ]
            ),
        }
        // The default URL is a SQLite file: without `sqlite` the section itself is refused.
        let yaml = "database:\n  pool_size: 2\n";
        match database_of(yaml) {
            Ok(database) if cfg!(feature = "sqlite") => {
                assert!(database.unwrap().url.is_sqlite());
            }
            outcome => {
                let problems = outcome.unwrap_err();
                assert_eq!(problems.len(), 1, "{problems:?}");
                assert!(
                    problems[0].starts_with(
                        "config/app.yaml:1:1: database: sqlite:// needs the beginnings feature \"sqlite\""
                    ),
                    "{problems:?}"
                );
            }
        }
    }

    #[test]
    fn passwords_are_not_displayed() {
        let url = DatabaseUrl::Postgres("postgres://app:hunter2@db:5432/app".to_owned());
        assert_eq!(url.to_string(), "postgres://app:***@db:5432/app");
        let url = DatabaseUrl::Postgres("postgres://app@db/app".to_owned());
        assert_eq!(url.to_string(), "postgres://app@db/app");
    }
}
