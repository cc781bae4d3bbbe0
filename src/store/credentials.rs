//! Credentials (vendor keys and deployment tokens) and request-rate windows: core rows, because
//! the request pipeline authenticates and counts by the manifest's rules before any domain runs.

use crate::credentials::TokenKind;

use super::StoreError;

/// One vendor key or deployment token, as stored: its hash, never its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    /// `key_000001` or `tok_000001`: the id inside the token, and the row's key.
    pub id: String,
    pub kind: TokenKind,
    pub vendor_id: String,
    /// The deployment a deployment token writes for.
    pub deployment_id: Option<String>,
    /// Granted scopes, sorted.
    pub scopes: Vec<String>,
    /// Hex; empty in a cached copy.
    pub salt: String,
    /// Hex argon2id hash of the secret; empty in a cached copy.
    pub hash: String,
    /// How `hash` was made (`ARGON2_PARAMS`).
    pub hash_params: String,
    /// The token's last four characters (its checksum's), which listings show.
    pub last4: String,
    pub created_at: String,
    pub expires_at: String,
    pub revoked_at: Option<String>,
    pub last_used_at: Option<String>,
}

pub trait CredentialStore {
    fn insert_credential(&mut self, credential: &Credential) -> Result<(), StoreError>;
    fn credential(&self, id: &str) -> Result<Option<Credential>, StoreError>;
    /// A vendor's credentials of one kind, by id.
    fn vendor_credentials(
        &self,
        vendor_id: &str,
        kind: TokenKind,
    ) -> Result<Vec<Credential>, StoreError>;
    /// The tokens of one deployment, by id.
    fn deployment_credentials(&self, deployment_id: &str) -> Result<Vec<Credential>, StoreError>;
    /// Marks a credential revoked at `at` and moves the revocation sequence, in this
    /// transaction; false when it was revoked already (or is unknown).
    fn revoke_credential(&mut self, id: &str, at: &str) -> Result<bool, StoreError>;
    /// How many revocations the store has seen: a cached validation older than the current
    /// value is read again.
    fn revocation_seq(&self) -> Result<u64, StoreError>;
    fn touch_credential(&mut self, id: &str, at: &str) -> Result<(), StoreError>;
}

pub trait RateLimitStore {
    /// Counts one request of `subject` against `bucket` in the window starting at
    /// `window_start` (Unix seconds) and answers the window's count so far, this one included.
    /// Earlier windows of the subject are dropped.
    fn count_request(
        &mut self,
        bucket: &str,
        subject: &str,
        window_start: i64,
    ) -> Result<u64, StoreError>;
}
