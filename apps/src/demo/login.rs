//! `POST /api/v1/login`: a demo user's email and password for an HS256 token that the auth
//! extension (`auth:AuthExtension`) verifies on the routes that require it.

use std::time::{SystemTime, UNIX_EPOCH};

use beginnings::builtin::sqlx::{self, Row};
use beginnings::config::Config;
use beginnings::routing::StatusCode;
use beginnings::{Json, Request, State};
use jsonwebtoken::{EncodingKey, Header};
use serde_json::{Value, json};

use super::Demo;
use super::input::{Failure, Fields, Outcome};
use super::password;

/// How tokens are signed: the secret, issuer and audience the auth extension checks.
pub struct Tokens {
    key: EncodingKey,
    issuer: Option<String>,
    audience: Option<String>,
    lifetime_seconds: u64,
}

impl Tokens {
    pub const LIFETIME_SECONDS: u64 = 3600;

    /// From the enabled `auth:AuthExtension` of `config` when it verifies HS256 tokens, so
    /// the demo signs with exactly the secret the extension checks with.
    pub fn from_config(config: &Config) -> Option<Tokens> {
        let entry = config
            .extensions
            .iter()
            .find(|e| e.name == "auth:AuthExtension" && e.enabled)?;
        let jwt = entry.config.get("jwt")?;
        let hs256 = jwt
            .get("algorithms")?
            .as_array()?
            .iter()
            .any(|a| a == "HS256");
        let secret = jwt.get("secret")?.as_str()?;
        // A list accepts any of its values; the first is as good as any.
        let first = |key: &str| match jwt.get(key)? {
            Value::String(s) => Some(s.clone()),
            Value::Array(items) => items.first()?.as_str().map(str::to_owned),
            _ => None,
        };
        hs256.then(|| Tokens {
            key: EncodingKey::from_secret(secret.as_bytes()),
            issuer: first("issuer"),
            audience: first("audience"),
            lifetime_seconds: Self::LIFETIME_SECONDS,
        })
    }

    fn sign(&self, claims: &mut Value) -> Outcome<String> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        claims["iat"] = now.into();
        claims["exp"] = (now + self.lifetime_seconds).into();
        if let Some(issuer) = &self.issuer {
            claims["iss"] = issuer.as_str().into();
        }
        if let Some(audience) = &self.audience {
            claims["aud"] = audience.as_str().into();
        }
        jsonwebtoken::encode(&Header::default(), claims, &self.key).map_err(|e| {
            Failure::status(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("token signing failed: {e}"),
            )
        })
    }
}

/// Verified when the email is unknown too, so the answer takes as long either way.
const NO_SUCH_USER: &str = "$argon2id$v=19$m=4096,t=1,p=1$OV3u1OnKJleKeLdxrED7Xg$0oFS8xy6tnzvhvWFMmM0vcLZzFO3hW7QZqCGa6fOf0w";

pub async fn login(demo: State<Demo>, request: Request) -> Outcome<Json<Value>> {
    let Some(tokens) = demo.tokens.as_ref() else {
        return Err(Failure::status(
            StatusCode::NOT_IMPLEMENTED,
            "login needs auth:AuthExtension with an HS256 `jwt.secret` in the configuration",
        ));
    };
    let fields = Fields::parse(&request, &["email", "password"])?;
    let email = fields.required_text("email", 254)?.to_lowercase();
    let password = fields.required_text("password", 200)?;
    let database = demo.store.database(&request).await?;
    let row = sqlx::query("SELECT id, name, role, password_hash FROM users WHERE email = $1")
        .bind(&email)
        .fetch_optional(database.pool().await?)
        .await?;
    let stored: Option<String> = match &row {
        Some(row) => row.try_get("password_hash")?,
        None => None,
    };
    let matches = password::verify(&password, stored.as_deref().unwrap_or(NO_SUCH_USER)).await;
    let (Some(row), true) = (row, matches && stored.is_some()) else {
        return Err(Failure::status(
            StatusCode::UNAUTHORIZED,
            "invalid email or password",
        ));
    };
    let id: i64 = row.try_get("id")?;
    let name: String = row.try_get("name")?;
    let role: String = row.try_get("role")?;
    let mut claims = json!({"sub": id.to_string(), "name": name, "email": email, "roles": [role]});
    let token = tokens.sign(&mut claims)?;
    Ok(Json(json!({
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": tokens.lifetime_seconds,
        "user": {"id": id, "name": name, "email": email, "role": role},
    })))
}
