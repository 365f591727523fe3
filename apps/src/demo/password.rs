//! Password hashes: argon2id in PHC strings, computed off the async workers.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use beginnings::Rejection;
use beginnings::routing::StatusCode;

use super::input::{Failure, Outcome};

/// Light parameters (4 MiB, one pass): this is a demo whose debug build hashes on every
/// login. A verification uses the parameters stored in the hash, so stronger ones can be
/// introduced without breaking stored passwords.
fn hasher() -> Argon2<'static> {
    let params = Params::new(4096, 1, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn check(password: &str) -> Outcome<()> {
    if password.chars().count() < 8 {
        return Err(Failure::invalid(
            "password",
            "must be at least 8 characters",
        ));
    }
    Ok(())
}

pub async fn hash(password: &str) -> Outcome<String> {
    check(password)?;
    let password = password.to_owned();
    blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        hasher()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| {
                Rejection::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("hashing failed: {e}"),
                )
            })
    })
    .await
}

/// Whether `password` matches the stored `hash`; a malformed hash matches nothing.
pub async fn verify(password: &str, hash: &str) -> bool {
    let (password, hash) = (password.to_owned(), hash.to_owned());
    let verified = blocking(move || {
        Ok(PasswordHash::new(&hash).is_ok_and(|parsed| {
            hasher()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        }))
    })
    .await;
    verified.unwrap_or(false)
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Rejection> + Send + 'static,
) -> Outcome<T> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => Ok(result?),
        Err(e) => Err(Failure::status(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("password check failed: {e}"),
        )),
    }
}
