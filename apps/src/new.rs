//! `beginnings new extension NAME`: writes an extension crate that builds and loads
//! without edits — a documented filter and config, a test on the SDK's test host, and a
//! README with its YAML.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

/// Where the SDK crate is: beside the binary's own sources, unless told otherwise.
fn default_sdk_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(|root| root.join("abi"))
        .unwrap_or_else(|| PathBuf::from("abi"))
}

/// `PoweredBy` from `powered_by`.
fn type_name(module: &str) -> String {
    module
        .split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect::<String>()
        + "Extension"
}

/// Writes the crate into `dir/NAME` and returns its path.
pub fn new_extension(name: &str, dir: &Path, sdk: Option<&Path>) -> anyhow::Result<PathBuf> {
    let valid = !name.is_empty()
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !valid {
        bail!(
            "invalid extension name `{name}`: use lowercase letters, digits and `_`, starting \
             with a letter (it becomes lib{name}.so and the `{name}:` of `{name}:Type`)"
        );
    }
    let root = dir.join(name);
    if root.exists() {
        bail!(
            "{} already exists; choose another name or --dir",
            root.display()
        );
    }
    let sdk = match sdk {
        Some(path) => path.to_path_buf(),
        None => default_sdk_path(),
    };
    let sdk = sdk
        .canonicalize()
        .with_context(|| format!("the Beginnings SDK is not at {}; pass --sdk", sdk.display()))?;
    let ty = type_name(name);
    let header = format!("x-{}", name.replace('_', "-"));
    let files = [
        ("Cargo.toml", cargo_toml(name, &sdk)),
        ("src/lib.rs", lib_rs(name, &ty, &header)),
        ("README.md", readme(name, &ty, &header)),
        (".gitignore", "/target\nCargo.lock\n".to_string()),
    ];
    for (file, text) in files {
        let path = root.join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(root)
}

fn cargo_toml(name: &str, sdk: &Path) -> String {
    format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
edition = "2024"
publish = false

# Its own workspace, so the crate builds wherever it is written.
[workspace]

[lib]
crate-type = ["cdylib"]

[dependencies]
beginnings-abi = {{ path = "{sdk}" }}
serde = {{ version = "1", features = ["derive"] }}

[dev-dependencies]
# The in-process test host, for the tests only.
beginnings-abi = {{ path = "{sdk}", features = ["testing"] }}
serde_json = "1"

# The host refuses libraries built with panic = "abort": a panic could not be contained.
[profile.dev]
panic = "unwind"

[profile.release]
panic = "unwind"
"#,
        sdk = sdk.display()
    )
}

fn lib_rs(name: &str, ty: &str, header: &str) -> String {
    format!(
        r#"//! `{name}:{ty}`: adds the `{header}` header to the answers of the routes it applies
//! to. A starting point: change the config, the filter and the test.

use beginnings_abi::{{Error, Extension, Filter, Hooks, Host, Response, Route, export_extension}};
use serde::Deserialize;

/// The extension's entry under `extensions:` in the YAML. Unknown keys are errors that name
/// the key.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {{
    /// The header's value.
    #[serde(default = "default_value")]
    pub value: String,
}}

fn default_value() -> String {{
    "hello".into()
}}

pub struct {ty} {{
    value: String,
}}

/// The route settings this extension reads (its field names are the keys).
#[derive(Debug, Deserialize)]
pub struct RouteSettings {{
    /// Routes opt out with `{name}: false`.
    #[serde(default)]
    pub {name}: Option<bool>,
}}

/// Named in configuration by its type name: `{name}:{ty}`.
impl Extension for {ty} {{
    const DESCRIPTION: &'static str = "adds the {header} header";
    const CONFIG_SUMMARY: &'static str = "value: string = hello";

    type Config = Config;
    type RouteConfig = RouteSettings;
    type Filter = {ty}Filter;

    fn new(config: Config, _host: Host) -> Result<Self, Error> {{
        Ok({ty} {{ value: config.value }})
    }}

    /// The route's filter, or `None` when the route opted out.
    fn filter(&self, route: &Route<'_, RouteSettings>) -> Result<Option<{ty}Filter>, Error> {{
        if !route.settings.{name}.unwrap_or(true) {{
            return Ok(None);
        }}
        Ok(Some({ty}Filter {{ value: self.value.clone() }}))
    }}
}}

/// Shared by every request of the routes with one configuration.
pub struct {ty}Filter {{
    value: String,
}}

impl Filter for {ty}Filter {{
    /// No state between the hooks: nothing is allocated per request.
    type State = ();

    /// Only the response hook: the host skips the request hook.
    fn hooks(&self) -> Hooks {{
        Hooks::none().response()
    }}

    fn on_response(&self, _state: &mut (), response: &mut Response<'_>) -> Result<(), Error> {{
        response.set_header("{header}", &self.value)
    }}
}}

export_extension!({ty});

#[cfg(test)]
mod tests {{
    use beginnings_abi::testing::{{TestExtension, TestRequest, TestResponse}};
    use serde_json::json;

    use super::{ty};

    #[test]
    fn adds_the_header() {{
        let extension = TestExtension::new::<{ty}>(json!({{"value": "world"}})).unwrap();
        let filter = extension.filter("/api/items", json!({{}})).unwrap();
        let outcome = filter
            .exchange(TestRequest::get("/api/items"), |_| TestResponse::new(200))
            .unwrap();
        assert_eq!(outcome.response.header_value("{header}"), Some("world"));
    }}

    #[test]
    fn routes_can_opt_out() {{
        let extension = TestExtension::new::<{ty}>(json!({{}})).unwrap();
        assert!(!extension.applies("/health", &["GET"], json!({{"{name}": false}})).unwrap());
    }}

    #[test]
    fn a_wrong_key_is_refused_with_its_name() {{
        let error = TestExtension::new::<{ty}>(json!({{"valeu": "x"}})).err().unwrap();
        assert!(error.message().contains("unknown field `valeu`"), "{{error}}");
    }}
}}
"#
    )
}

fn readme(name: &str, ty: &str, header: &str) -> String {
    format!(
        r#"# {name}:{ty}

Adds the `{header}` header to the answers of the routes it applies to.

```yaml
extensions:
  "{name}:{ty}":
    value: hello          # the header's value (default: hello)
routes:
  patterns:
    "/health": {{{name}: false}}   # routes opt out
```

## Build, test, load

```sh
cargo test                         # runs the hooks on the SDK's in-process test host
cargo build --release              # target/release/lib{name}.so
cp target/release/lib{name}.so <extensions_dir>/
beginnings ext inspect <extensions_dir>/lib{name}.so
```

## Route settings

| key | default | meaning |
|---|---|---|
| `{name}` | `true` | `false` keeps the extension off the route |
"#
    )
}

#[cfg(test)]
mod tests {
    use super::type_name;

    #[test]
    fn type_names_are_camel_case() {
        assert_eq!(type_name("powered_by"), "PoweredByExtension");
        assert_eq!(type_name("audit"), "AuditExtension");
    }
}
