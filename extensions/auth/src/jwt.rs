//! Bearer JWT verification: pinned algorithms, one key per algorithm family, claim checks.

use std::str::FromStr;

use beginnings_abi::json::{Map, Value};
use beginnings_abi::{Error, log};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};

use crate::config::JwtConfig;
use crate::identity::{Identity, Method, claim_strings};

/// The payload claims that mark a refresh token (`"refresh"` or `"refresh_token"`, any case).
pub const TOKEN_TYPE_CLAIMS: [&str; 2] = ["token_type", "typ"];

pub struct JwtVerifier {
    /// One entry per accepted algorithm: its key and a validation allowing only it.
    accepted: Vec<(Algorithm, DecodingKey, Validation)>,
    roles_claims: Vec<String>,
    scopes_claims: Vec<String>,
}

/// A verified token: who it names and until when it is valid (`exp`, Unix seconds).
pub struct Verified {
    pub identity: Identity,
    pub expires_at: Option<u64>,
}

impl JwtVerifier {
    pub fn new(config: JwtConfig) -> Result<Self, Error> {
        let algorithms = parse_algorithms(&config.algorithms)?;
        let hmac = algorithms.iter().any(|a| family(*a) == Family::Hmac);
        let asymmetric: Vec<Algorithm> = algorithms
            .iter()
            .copied()
            .filter(|a| family(*a) != Family::Hmac)
            .collect();

        let secret_key = match (&config.secret, hmac) {
            (Some(secret), true) if secret.is_empty() => {
                return Err(Error::new("jwt.secret: must not be empty"));
            }
            (Some(secret), true) => Some(DecodingKey::from_secret(secret.as_bytes())),
            (None, true) => {
                return Err(Error::new(
                    "jwt.secret: required by the HS* algorithms in jwt.algorithms",
                ));
            }
            (Some(_), false) => {
                return Err(Error::new(
                    "jwt.secret: set, but jwt.algorithms lists no HS* algorithm",
                ));
            }
            (None, false) => None,
        };
        if let Some(secret) = &config.secret
            && secret.len() < 32
        {
            log::warn!("jwt.secret is shorter than 32 bytes; HMAC tokens are easier to forge");
        }
        let public_key = load_public_key(&config, &asymmetric)?;

        let mut required = Vec::new();
        if config.require_exp {
            required.push("exp");
        }
        if config.issuer.is_some() {
            required.push("iss");
        }
        if config.audience.is_some() {
            required.push("aud");
        }
        let issuers = config.issuer.map(|i| i.into_vec());
        let audiences = config.audience.map(|a| a.into_vec());
        let mut accepted = Vec::with_capacity(algorithms.len());
        for algorithm in algorithms {
            let mut validation = Validation::new(algorithm);
            validation.leeway = config.leeway_seconds;
            // `exp` is checked whenever present; `require_exp` decides only whether it must be.
            validation.validate_exp = true;
            validation.validate_nbf = true;
            validation.set_required_spec_claims(&required);
            if let Some(issuers) = &issuers {
                validation.set_issuer(issuers);
            }
            // Without a configured audience, a token that names one is refused: it was
            // issued for some other service.
            if let Some(audiences) = &audiences {
                validation.set_audience(audiences);
            }
            let key = match family(algorithm) {
                Family::Hmac => secret_key.clone(),
                _ => public_key.clone(),
            }
            .ok_or_else(|| Error::new(format!("jwt: no key for {algorithm:?}")))?;
            accepted.push((algorithm, key, validation));
        }
        Ok(JwtVerifier {
            accepted,
            roles_claims: config.roles_claims,
            scopes_claims: config.scopes_claims,
        })
    }

    /// Checks the token's algorithm, signature and claims. The error is a short reason,
    /// safe to quote in `WWW-Authenticate`.
    pub fn verify(&self, token: &str) -> Result<Verified, &'static str> {
        // `alg: none` and unknown algorithms fail here: they are not `Algorithm` values.
        let header =
            decode_header(token).map_err(|_| "malformed token or unsupported algorithm")?;
        let (_, key, validation) = self
            .accepted
            .iter()
            .find(|(algorithm, _, _)| *algorithm == header.alg)
            .ok_or("algorithm not allowed")?;
        let data =
            decode::<Map<String, Value>>(token, key, validation).map_err(|e| reason(e.kind()))?;
        let claims = data.claims;
        if is_refresh_token(&claims) {
            return Err("refresh tokens are not access tokens");
        }
        let gather = |names: &[String]| -> Vec<String> {
            names
                .iter()
                .filter_map(|name| claims.get(name))
                .flat_map(claim_strings)
                .collect()
        };
        let roles = gather(&self.roles_claims);
        let scopes = gather(&self.scopes_claims);
        let subject = claims
            .get("sub")
            .and_then(Value::as_str)
            .map(str::to_string);
        let expires_at = claims.get("exp").and_then(Value::as_u64);
        let claims = Value::Object(claims);
        Ok(Verified {
            identity: Identity::new(Method::Jwt, subject, roles, scopes, &claims),
            expires_at,
        })
    }
}

fn is_refresh_token(claims: &Map<String, Value>) -> bool {
    TOKEN_TYPE_CLAIMS.iter().any(|name| {
        claims
            .get(*name)
            .and_then(Value::as_str)
            .is_some_and(|kind| {
                kind.eq_ignore_ascii_case("refresh") || kind.eq_ignore_ascii_case("refresh_token")
            })
    })
}

fn reason(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::ExpiredSignature => "the token has expired",
        ErrorKind::ImmatureSignature => "the token is not valid yet",
        ErrorKind::InvalidIssuer => "unexpected issuer",
        ErrorKind::InvalidAudience => "unexpected audience",
        ErrorKind::InvalidSignature => "bad signature",
        ErrorKind::InvalidAlgorithm => "algorithm not allowed",
        ErrorKind::MissingRequiredClaim(_) => "a required claim is missing",
        ErrorKind::InvalidClaimFormat(_) => "a claim has the wrong type",
        _ => "malformed token",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Hmac,
    Rsa,
    Ec,
    Ed,
}

fn family(algorithm: Algorithm) -> Family {
    use Algorithm::*;
    match algorithm {
        HS256 | HS384 | HS512 => Family::Hmac,
        RS256 | RS384 | RS512 | PS256 | PS384 | PS512 => Family::Rsa,
        ES256 | ES384 => Family::Ec,
        EdDSA => Family::Ed,
    }
}

fn parse_algorithms(names: &[String]) -> Result<Vec<Algorithm>, Error> {
    if names.is_empty() {
        return Err(Error::new("jwt.algorithms: list at least one algorithm"));
    }
    let mut algorithms = Vec::with_capacity(names.len());
    for (index, name) in names.iter().enumerate() {
        if name.eq_ignore_ascii_case("none") {
            return Err(Error::new(format!(
                "jwt.algorithms[{index}]: `none` (unsigned tokens) is never accepted"
            )));
        }
        let algorithm = Algorithm::from_str(name).map_err(|_| {
            Error::new(format!(
                "jwt.algorithms[{index}]: unknown algorithm {name:?} (expected HS256, HS384, \
                 HS512, RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384 or EdDSA)"
            ))
        })?;
        if !algorithms.contains(&algorithm) {
            algorithms.push(algorithm);
        }
    }
    Ok(algorithms)
}

/// The one public key that serves every asymmetric algorithm listed.
fn load_public_key(
    config: &JwtConfig,
    asymmetric: &[Algorithm],
) -> Result<Option<DecodingKey>, Error> {
    let pem = match (&config.public_key, &config.public_key_file) {
        (Some(_), Some(_)) => {
            return Err(Error::new(
                "jwt: set either public_key (inline PEM) or public_key_file, not both",
            ));
        }
        (Some(pem), None) => Some(("jwt.public_key".to_string(), pem.clone().into_bytes())),
        (None, Some(path)) => {
            let bytes = std::fs::read(path).map_err(|e| {
                Error::new(format!(
                    "jwt.public_key_file: cannot read {}: {e}",
                    path.display()
                ))
            })?;
            Some((format!("jwt.public_key_file ({})", path.display()), bytes))
        }
        (None, None) => None,
    };
    let Some(&first) = asymmetric.first() else {
        return match pem {
            Some((key, _)) => Err(Error::new(format!(
                "{key}: set, but jwt.algorithms lists no RS*, PS*, ES* or EdDSA algorithm"
            ))),
            None => Ok(None),
        };
    };
    let Some((key, pem)) = pem else {
        return Err(Error::new(format!(
            "jwt.public_key: {first:?} needs a PEM public key (public_key or public_key_file)"
        )));
    };
    let kind = family(first);
    if let Some(other) = asymmetric.iter().find(|a| family(**a) != kind) {
        return Err(Error::new(format!(
            "jwt.algorithms: {first:?} and {other:?} need different kinds of key; one public key \
             serves one family"
        )));
    }
    if kind == Family::Ec && asymmetric.len() > 1 {
        return Err(Error::new(
            "jwt.algorithms: ES256 and ES384 use different curves; list the one your key uses",
        ));
    }
    let decoded = match kind {
        Family::Rsa => DecodingKey::from_rsa_pem(&pem),
        Family::Ec => DecodingKey::from_ec_pem(&pem),
        Family::Ed => DecodingKey::from_ed_pem(&pem),
        Family::Hmac => unreachable!("asymmetric algorithms only"),
    };
    let kind = match kind {
        Family::Rsa => "an RSA",
        Family::Ec => "an EC",
        _ => "an Ed25519",
    };
    decoded
        .map(Some)
        .map_err(|e| Error::new(format!("{key}: not {kind} public key in PEM form ({e})")))
}
