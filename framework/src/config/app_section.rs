//! The `app:` section: listener, limits, timeouts, logging.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::error::{push_key, unknown_key_message};
use super::model::{APP_KEYS, AppConfig, LogFormat, MIN_HEADER_BYTES, MetricsConfig};
use super::node::{Entry, Kind};
use super::validate::{Ctx, set_bool, set_string};

pub(crate) fn app(entry: Option<&Entry>, base_dir: &Path, ctx: &mut Ctx<'_>) -> AppConfig {
    let mut app = AppConfig::default();
    let Some(entry) = entry else { return app };
    let Some(fields) = ctx.map_entries(entry, "app", "a mapping") else {
        return app;
    };
    for field in fields {
        let path = push_key("app", &field.key);
        if field.value.is_invalid() {
            continue;
        }
        match field.key.as_str() {
            "name" => set_string(&mut app.name, field, &path, ctx),
            "host" => set_string(&mut app.host, field, &path, ctx),
            "port" => {
                if let Some(port) = integer(field, &path, 0, u64::from(u16::MAX), ctx) {
                    app.port = port as u16;
                }
            }
            "workers" => match (&field.value.kind, field.value.as_int()) {
                (Kind::Null, _) => app.workers = None,
                (_, Some(n)) if n >= 1 => app.workers = usize::try_from(n).ok(),
                (_, Some(n)) => ctx.report(
                    field.value.span,
                    &path,
                    format!("workers must be at least 1, found {n}"),
                ),
                (_, None) => ctx.wrong_type(field, &path, "integer"),
            },
            "debug" => set_bool(&mut app.debug, field, &path, ctx),
            "request_debug" => set_bool(&mut app.request_debug, field, &path, ctx),
            "request_debug_token" => match (&field.value.kind, field.value.as_str()) {
                (Kind::Null, _) => app.request_debug_token = None,
                // A short token is guessed: the timing it opens names every extension.
                (_, Some(token)) if token.len() >= 16 => {
                    app.request_debug_token = Some(token.to_owned());
                }
                (_, Some(_)) => ctx.report(
                    field.value.span,
                    &path,
                    "a debug token must be at least 16 characters",
                ),
                (_, None) => ctx.wrong_type(field, &path, "string or null"),
            },
            "access_log" => set_bool(&mut app.access_log, field, &path, ctx),
            "keep_alive" => set_bool(&mut app.keep_alive, field, &path, ctx),
            "probes" => set_bool(&mut app.probes, field, &path, ctx),
            "release_start_pages" => set_bool(&mut app.release_start_pages, field, &path, ctx),
            "log_format" => match field.value.as_str() {
                Some("text") => app.log_format = LogFormat::Text,
                Some("json") => app.log_format = LogFormat::Json,
                Some(other) => ctx.report(
                    field.value.span,
                    &path,
                    format!("expected `text` or `json`, found `{other}`"),
                ),
                None => ctx.wrong_type(field, &path, "`text` or `json`"),
            },
            "backlog" => {
                if let Some(n) = integer(field, &path, 1, u64::from(u32::MAX), ctx) {
                    app.backlog = n as u32;
                }
            }
            "max_connections" => {
                if !matches!(field.value.kind, Kind::Null) {
                    app.max_connections =
                        integer(field, &path, 1, u32::MAX.into(), ctx).map(|n| n as usize);
                }
            }
            "max_body_bytes" => {
                if let Some(n) = integer(field, &path, 0, usize::MAX as u64, ctx) {
                    app.max_body_bytes = n as usize;
                }
            }
            "max_header_bytes" => {
                let min = MIN_HEADER_BYTES as u64;
                if let Some(n) = integer(field, &path, min, u32::MAX.into(), ctx) {
                    app.max_header_bytes = n as usize;
                }
            }
            "timeout" => app.timeout = optional_seconds(field, &path, ctx),
            "header_read_timeout" => app.header_read_timeout = optional_seconds(field, &path, ctx),
            "keep_alive_timeout" => app.keep_alive_timeout = optional_seconds(field, &path, ctx),
            "send_timeout" => app.send_timeout = optional_seconds(field, &path, ctx),
            "client_body_timeout" => app.client_body_timeout = optional_seconds(field, &path, ctx),
            "client_body_min_rate" => {
                app.client_body_min_rate = match field.value.kind {
                    Kind::Null => None,
                    _ => integer(field, &path, 0, u32::MAX.into(), ctx).filter(|n| *n > 0),
                }
            }
            "websocket_max_message_bytes" => {
                if let Some(n) = integer(field, &path, 1, usize::MAX as u64, ctx) {
                    app.websocket_max_message_bytes = n as usize;
                }
            }
            "websocket_idle_timeout" => {
                app.websocket_idle_timeout = optional_seconds(field, &path, ctx);
            }
            "shutdown_grace_seconds" => {
                if let Some(d) = seconds(field, &path, ctx) {
                    app.shutdown_grace = d;
                }
            }
            "handover_timeout_seconds" => match seconds(field, &path, ctx) {
                Some(d) if d.is_zero() => {
                    let message = "expected seconds above 0: a new process needs time to start";
                    ctx.report(field.value.span, &path, message.to_string());
                }
                Some(d) => app.handover_timeout = d,
                None => {}
            },
            "shutdown_delay_seconds" => {
                if let Some(d) = seconds(field, &path, ctx) {
                    app.shutdown_delay = d;
                }
            }
            "extensions_dir" => app.extensions_dir = directory(field, &path, base_dir, ctx),
            "state_dir" => app.state_dir = directory(field, &path, base_dir, ctx),
            "swap_rollback_window_seconds" => {
                if let Some(d) = seconds(field, &path, ctx) {
                    app.swap_rollback_window = d;
                }
            }
            "shared_store" => match field.value.as_str() {
                Some(value) => match crate::config::StoreConfig::parse(value) {
                    Ok(store) => app.shared_store = store,
                    Err(error) => ctx.report(field.value.span, &path, error.to_string()),
                },
                None => ctx.wrong_type(field, &path, "`memory` or a redis:// URL"),
            },
            "store_timeout_ms" => {
                if let Some(ms) = integer(field, &path, 1, 60_000, ctx) {
                    app.store_timeout = Duration::from_millis(ms);
                }
            }
            "metrics" => metrics(field, &path, &mut app.metrics, ctx),
            other => ctx.report(field.key_span, &path, unknown_key_message(other, APP_KEYS)),
        }
    }
    app
}

/// The keys `app.metrics` accepts.
pub(crate) const METRICS_KEYS: &[&str] = &["enabled", "path", "bind"];

/// `app.metrics: {enabled, path, bind}`.
fn metrics(entry: &Entry, path: &str, metrics: &mut MetricsConfig, ctx: &mut Ctx<'_>) {
    let Some(fields) = ctx.map_entries(entry, path, "a mapping") else {
        return;
    };
    for field in fields {
        let key_path = push_key(path, &field.key);
        if field.value.is_invalid() {
            continue;
        }
        match field.key.as_str() {
            "enabled" => set_bool(&mut metrics.enabled, field, &key_path, ctx),
            "path" => {
                set_string(&mut metrics.path, field, &key_path, ctx);
                if !metrics.path.starts_with('/') {
                    ctx.report(
                        field.value.span,
                        &key_path,
                        format!(
                            "expected a path starting with `/`, found `{}`",
                            metrics.path
                        ),
                    );
                }
            }
            "bind" => match (&field.value.kind, field.value.as_str()) {
                (Kind::Null, _) => metrics.bind = None,
                (_, Some(addr)) if addr.contains(':') => metrics.bind = Some(addr.to_owned()),
                (_, Some(addr)) => ctx.report(
                    field.value.span,
                    &key_path,
                    format!("expected HOST:PORT, found `{addr}`"),
                ),
                (_, None) => ctx.wrong_type(field, &key_path, "HOST:PORT"),
            },
            other => ctx.report(
                field.key_span,
                &key_path,
                unknown_key_message(other, METRICS_KEYS),
            ),
        }
    }
}

/// An integer within `min..=max`, or a reported problem.
pub(super) fn integer(
    field: &Entry,
    path: &str,
    min: u64,
    max: u64,
    ctx: &mut Ctx<'_>,
) -> Option<u64> {
    let Some(n) = field.value.as_int() else {
        ctx.wrong_type(field, path, "integer");
        return None;
    };
    match u64::try_from(n) {
        Ok(n) if (min..=max).contains(&n) => Some(n),
        _ => {
            // Named after the key: `port 70000 is out of range (0-65535)`.
            let key = path.rsplit('.').next().unwrap_or(path);
            let message = format!("{key} {n} is out of range ({min}-{max})");
            ctx.report(field.value.span, path, message);
            None
        }
    }
}

/// Seconds (integer or fraction, not negative).
pub(super) fn seconds(field: &Entry, path: &str, ctx: &mut Ctx<'_>) -> Option<Duration> {
    let value = match &field.value.kind {
        Kind::Float(f) => Some(*f),
        _ => field.value.as_int().map(|n| n as f64),
    };
    match value {
        Some(s) if s.is_finite() && (0.0..=1e9).contains(&s) => Some(Duration::from_secs_f64(s)),
        Some(s) => {
            ctx.report(
                field.value.span,
                path,
                format!("expected seconds (0 or more), found {s}"),
            );
            None
        }
        None => {
            ctx.wrong_type(field, path, "seconds (a number)");
            None
        }
    }
}

/// A directory relative to the main configuration file's; `null` (or empty) for none.
fn directory(field: &Entry, path: &str, base_dir: &Path, ctx: &mut Ctx<'_>) -> Option<PathBuf> {
    if matches!(field.value.kind, Kind::Null) {
        return None;
    }
    let mut dir = String::new();
    set_string(&mut dir, field, path, ctx);
    (!dir.is_empty()).then(|| base_dir.join(dir))
}

/// Seconds where `0` and `null` mean "no limit".
fn optional_seconds(field: &Entry, path: &str, ctx: &mut Ctx<'_>) -> Option<Duration> {
    if matches!(field.value.kind, Kind::Null) {
        return None;
    }
    seconds(field, path, ctx).filter(|d| !d.is_zero())
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Duration;

    use super::super::{AppConfig, load_str_with_env};

    fn app(yaml: &str) -> AppConfig {
        load_str_with_env(yaml, Path::new("app.yaml"), &|_| None)
            .unwrap()
            .app
    }

    #[test]
    fn slow_client_bounds_default_to_nginx_like_values_and_turn_off_with_null_or_zero() {
        let defaults = app("{}");
        assert_eq!(defaults.send_timeout, Some(Duration::from_secs(60)));
        assert_eq!(defaults.client_body_timeout, Some(Duration::from_secs(60)));
        assert_eq!(defaults.client_body_min_rate, Some(240));
        let set = app(
            "app:\n  send_timeout: 1.5\n  client_body_timeout: 2\n  client_body_min_rate: 100\n",
        );
        assert_eq!(set.send_timeout, Some(Duration::from_millis(1500)));
        assert_eq!(set.client_body_timeout, Some(Duration::from_secs(2)));
        assert_eq!(set.client_body_min_rate, Some(100));
        for off in ["null", "0"] {
            let off = app(&format!(
                "app:\n  send_timeout: {off}\n  client_body_timeout: {off}\n  client_body_min_rate: {off}\n"
            ));
            assert_eq!(off.send_timeout, None);
            assert_eq!(off.client_body_timeout, None);
            assert_eq!(off.client_body_min_rate, None);
        }
        let wrong = load_str_with_env(
            "app:\n  client_body_min_rate: fast\n",
            Path::new("app.yaml"),
            &|_| None,
        )
        .unwrap_err()
        .to_string();
        assert!(
            wrong.contains("app.yaml:2:25: app.client_body_min_rate: expected integer"),
            "{wrong}"
        );
    }

    #[test]
    fn websocket_limits_default_to_64_kib_and_a_minute_and_are_checked() {
        let defaults = app("{}");
        assert_eq!(defaults.websocket_max_message_bytes, 64 * 1024);
        assert_eq!(
            defaults.websocket_idle_timeout,
            Some(Duration::from_secs(60))
        );
        let set = app("app:\n  websocket_max_message_bytes: 1024\n  websocket_idle_timeout: 0.5\n");
        assert_eq!(set.websocket_max_message_bytes, 1024);
        assert_eq!(set.websocket_idle_timeout, Some(Duration::from_millis(500)));
        for off in ["null", "0"] {
            let off = app(&format!("app:\n  websocket_idle_timeout: {off}\n"));
            assert_eq!(off.websocket_idle_timeout, None);
        }
        let refused = |yaml: &str| {
            load_str_with_env(yaml, Path::new("app.yaml"), &|_| None)
                .unwrap_err()
                .to_string()
        };
        let zero = refused("app:\n  websocket_max_message_bytes: 0\n");
        assert!(
            zero.contains("app.yaml:2:32: app.websocket_max_message_bytes:"),
            "{zero}"
        );
        let wrong = refused("app:\n  websocket_idle_timeout: soon\n");
        assert!(
            wrong.contains("app.yaml:2:27: app.websocket_idle_timeout:"),
            "{wrong}"
        );
    }

    #[test]
    fn the_state_dir_is_relative_to_the_main_file_and_unset_by_default() {
        let in_config = |yaml: &str| {
            load_str_with_env(yaml, Path::new("config/app.yaml"), &|_| None)
                .unwrap()
                .app
                .state_dir
        };
        assert_eq!(in_config("{}"), None);
        assert_eq!(in_config("app:\n  state_dir: null\n"), None);
        assert_eq!(
            in_config("app:\n  state_dir: ../state\n").as_deref(),
            Some(Path::new("config/../state"))
        );
        assert_eq!(
            in_config("app:\n  state_dir: /var/lib/app\n").as_deref(),
            Some(Path::new("/var/lib/app"))
        );
    }

    #[test]
    fn the_handover_timeout_is_thirty_seconds_and_never_zero() {
        let timeout = |yaml: &str| {
            load_str_with_env(yaml, Path::new("app.yaml"), &|_| None)
                .map(|config| config.app.handover_timeout)
                .map_err(|error| error.to_string())
        };
        assert_eq!(timeout("{}"), Ok(Duration::from_secs(30)));
        assert_eq!(
            timeout("app:\n  handover_timeout_seconds: 90\n"),
            Ok(Duration::from_secs(90))
        );
        assert_eq!(
            timeout("app:\n  handover_timeout_seconds: 0\n"),
            Err(
                "app.yaml:2:29: app.handover_timeout_seconds: expected seconds above 0: a new \
                 process needs time to start"
                    .to_string()
            )
        );
    }

    #[test]
    fn the_swap_rollback_window_is_sixty_seconds_unless_set() {
        let window = |yaml: &str| {
            load_str_with_env(yaml, Path::new("app.yaml"), &|_| None)
                .map(|config| config.app.swap_rollback_window)
                .map_err(|error| error.to_string())
        };
        assert_eq!(window("{}"), Ok(Duration::from_secs(60)));
        assert_eq!(
            window("app:\n  swap_rollback_window_seconds: 0.5\n"),
            Ok(Duration::from_millis(500))
        );
        assert_eq!(
            window("app:\n  swap_rollback_window_seconds: -1\n"),
            Err(
                "app.yaml:2:33: app.swap_rollback_window_seconds: expected seconds (0 or more), \
                 found -1"
                    .to_string()
            )
        );
    }

    /// Runs in both builds: a Redis store needs the `redis` feature, and a binary without it
    /// refuses the key, naming the feature.
    #[test]
    fn a_redis_store_needs_the_redis_feature() {
        let yaml = "app:\n  shared_store: redis://127.0.0.1:6379/0\n";
        match load_str_with_env(yaml, Path::new("app.yaml"), &|_| None) {
            Ok(config) if cfg!(feature = "redis") => assert_eq!(
                config.app.shared_store,
                crate::config::StoreConfig::Redis("redis://127.0.0.1:6379/0".to_owned())
            ),
            outcome => assert_eq!(
                outcome.unwrap_err().to_string(),
                "app.yaml:2:17: app.shared_store: redis:// needs the beginnings feature \"redis\", \
                 which this binary was built without (add \"redis\" to the features of its \
                 `beginnings` dependency)"
            ),
        }
    }
}
