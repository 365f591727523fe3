//! The token scheme: a signed double-submit token bound to the session.
//!
//! `token = base64url(nonce) "." base64url(HMAC-SHA256(secret, context))` where `nonce` is 32
//! random bytes and `context = "beginnings-csrf-v1" || u64_be(len(binding)) || binding ||
//! nonce`. `binding` is the session identifier the configuration names (`bind_to`), empty
//! when there is none. The same token goes in the cookie and, through the page, in the form
//! field or header; a request passes when both are present, equal, and the MAC verifies for
//! the request's own binding. Without the secret nobody can make a token that verifies, and
//! a token from one session does not verify in another.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

type HmacSha256 = Hmac<Sha256>;

const CONTEXT: &[u8] = b"beginnings-csrf-v1";
const NONCE_BYTES: usize = 32;
/// The length of a base64url SHA-256 MAC without padding.
const MAC_CHARS: usize = 43;
/// The length of a token: the nonce and the MAC, base64url without padding, and the dot.
pub const TOKEN_CHARS: usize = 43 + 1 + MAC_CHARS;
/// Room for what 43 base64 characters may decode to, as the decoder estimates it.
const DECODED_ROOM: usize = 33;

pub struct Signer {
    key: HmacSha256,
}

impl Signer {
    pub fn new(secret: &[u8]) -> Signer {
        Signer {
            key: HmacSha256::new_from_slice(secret).expect("hmac takes keys of any length"),
        }
    }

    fn mac(&self, binding: &[u8], nonce: &[u8]) -> HmacSha256 {
        let mut mac = self.key.clone();
        mac.update(CONTEXT);
        mac.update(&(binding.len() as u64).to_be_bytes());
        mac.update(binding);
        mac.update(nonce);
        mac
    }

    /// A fresh token for `binding`.
    pub fn issue(&self, binding: &[u8]) -> Result<String, getrandom::Error> {
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce)?;
        let tag = self.mac(binding, &nonce).finalize().into_bytes();
        Ok(format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(nonce),
            URL_SAFE_NO_PAD.encode(tag)
        ))
    }

    /// Whether `token` was issued by this secret for `binding` (constant time in the MAC).
    pub fn verify(&self, token: &str, binding: &[u8]) -> bool {
        let Some((nonce, tag)) = token.split_once('.') else {
            return false;
        };
        if tag.len() != MAC_CHARS {
            return false;
        }
        // Decoded on the stack: a token is checked on every request that carries one.
        let (mut nonce_bytes, mut tag_bytes) = ([0u8; DECODED_ROOM], [0u8; DECODED_ROOM]);
        let decoded = (
            URL_SAFE_NO_PAD.decode_slice(nonce, &mut nonce_bytes),
            URL_SAFE_NO_PAD.decode_slice(tag, &mut tag_bytes),
        );
        let (Ok(NONCE_BYTES), Ok(tag_len)) = decoded else {
            return false;
        };
        self.mac(binding, &nonce_bytes[..NONCE_BYTES])
            .verify_slice(&tag_bytes[..tag_len])
            .is_ok()
    }
}

/// Compares a submitted token with the cookie's without leaking where they differ.
pub fn same(submitted: &str, cookie: &str) -> bool {
    submitted.as_bytes().ct_eq(cookie.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_verify_only_for_their_secret_and_binding() {
        let signer = Signer::new(&[7; 32]);
        let token = signer.issue(b"session-a").unwrap();
        assert!(signer.verify(&token, b"session-a"));
        assert!(!signer.verify(&token, b"session-b"));
        assert!(!signer.verify(&token, b""));
        assert!(!Signer::new(&[8; 32]).verify(&token, b"session-a"));
        assert!(!signer.verify("forged.token", b"session-a"));
        let (nonce, _) = token.split_once('.').unwrap();
        let other = signer.issue(b"session-a").unwrap();
        let (_, other_tag) = other.split_once('.').unwrap();
        assert!(!signer.verify(&format!("{nonce}.{other_tag}"), b"session-a"));
        assert_ne!(token, other, "each token has its own nonce");
    }
}
