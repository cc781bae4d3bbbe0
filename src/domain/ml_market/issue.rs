//! Issuing a vendor key or a deployment token: a new id, a token shown once, and a credential
//! row that keeps only its argon2id hash. Shared by the operations that issue them and by
//! `marketref vendors create`.

use time::{Duration, OffsetDateTime};

use crate::clock::format_rfc3339_millis;
use crate::credentials::{ARGON2_PARAMS, Hasher, TokenKind, issue};
use crate::store::{Credential, StoreError};

use super::store::MlStore;

/// A credential just issued: the token to show once, and its stored row.
pub struct Issued {
    pub token: String,
    pub credential: Credential,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued")
            .field("credential", &self.credential.id)
            .finish_non_exhaustive()
    }
}

/// What to issue.
#[derive(Clone, Debug)]
pub struct Grant<'a> {
    pub kind: TokenKind,
    pub vendor_id: &'a str,
    pub deployment_id: Option<&'a str>,
    pub scopes: Vec<String>,
    pub lifetime: Duration,
}

/// Issues `grant` at `now` and stores its hash, in `tx`.
pub fn issue_credential(
    tx: &mut dyn MlStore,
    hasher: &Hasher,
    now: OffsetDateTime,
    grant: Grant<'_>,
) -> Result<Issued, StoreError> {
    let counter = match grant.kind {
        TokenKind::VendorKey => "ml_key",
        TokenKind::DeploymentToken => "ml_token",
    };
    let seq = tx.next_counter(counter)?;
    let id = format!("{}_{seq:06}", grant.kind.id_prefix());
    let issued = issue(grant.kind, &id);
    let (salt, hash) = hasher.hash(issued.secret());
    let mut scopes = grant.scopes;
    scopes.sort();
    scopes.dedup();
    let credential = Credential {
        id,
        kind: grant.kind,
        vendor_id: grant.vendor_id.to_owned(),
        deployment_id: grant.deployment_id.map(str::to_owned),
        scopes,
        salt,
        hash,
        hash_params: ARGON2_PARAMS.to_owned(),
        last4: issued.token[issued.token.len() - 4..].to_owned(),
        created_at: format_rfc3339_millis(now),
        expires_at: format_rfc3339_millis(now + grant.lifetime),
        revoked_at: None,
        last_used_at: None,
    };
    tx.insert_credential(&credential)?;
    Ok(Issued {
        token: issued.token,
        credential,
    })
}
