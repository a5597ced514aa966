//! Secrets Roster hands out (tokens, invitation and sign-in links, the
//! platform key): random, shown once, stored as SHA-256, compared in
//! constant time.

use rand::RngCore;
use roster_core::IdKind;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

pub fn hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Whether `secret` hashes to `stored_hash`, without timing leaks (and
/// without allocating: it runs on every request).
pub fn matches(secret: &str, stored_hash: &str) -> bool {
    let mut hex = [0u8; 64];
    if hex::encode_to_slice(Sha256::digest(secret.as_bytes()), &mut hex).is_err() {
        return false;
    }
    hex.ct_eq(stored_hash.as_bytes()).into()
}

/// A new id with its kind's readable prefix (`org_…`, `usr_…`);
/// time-ordered, so ids double as cursors.
pub fn new_id<I: IdKind>() -> I {
    I::new(format!("{}_{}", I::PREFIX, uuid::Uuid::now_v7().simple()))
}
