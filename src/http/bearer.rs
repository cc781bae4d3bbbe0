//! The bearer schemes (`vendor_key`, `deployment_token`): the caller is whoever the token's
//! credential row says, checked in this order, each refusal before any work the next needs:
//!
//! 1. an `Authorization: Bearer` header (401 `auth_header_required`);
//! 2. the token's shape and checksum, with no store access (401 `token_malformed`);
//! 3. its kind against the operation's scheme (403 `token_scope_insufficient`);
//! 4. its credential: from the validation cache when the store's revocation sequence has not
//!    moved, else read by id and, when not cached, its secret verified against the argon2id
//!    hash (401 `token_inactive` for unknown, wrong, revoked or expired, all alike);
//! 5. the operation's scopes (403 `token_scope_insufficient`).

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::http::HeaderMap;
use time::OffsetDateTime;

use crate::api::{Caller, Principal};
use crate::clock::{format_rfc3339_millis, parse_rfc3339};
use crate::credentials::{ParsedToken, TokenKind};
use crate::error::ApiError;
use crate::headers::AUTHORIZATION;
use crate::manifest::Operation;
use crate::reason::Reason;
use crate::store::Credential;

use super::AppState;
use super::auth::header;

/// Authenticates a request to an operation of a bearer scheme that takes `kind`.
pub(super) async fn authenticate(
    state: &AppState,
    operation: &Operation,
    kind: TokenKind,
    headers: &HeaderMap,
    now: OffsetDateTime,
) -> Result<Caller, ApiError> {
    let Some(value) = header(headers, AUTHORIZATION) else {
        return Err(ApiError::new(Reason::AuthHeaderRequired)
            .with("header", "Authorization")
            .with("scheme", "Bearer"));
    };
    let token = bearer_token(value).ok_or_else(|| malformed("bearer"))?;
    let parsed = ParsedToken::parse(token).map_err(|refusal| malformed(refusal.as_str()))?;
    if parsed.kind != kind {
        return Err(ApiError::new(Reason::TokenScopeInsufficient)
            .with("operation_id", &operation.operation_id)
            .with("token_type", parsed.kind.as_str())
            .with("required_token_type", kind.as_str()));
    }
    let validated = {
        let state = state.clone();
        let token = token.to_owned();
        tokio::task::spawn_blocking(move || validate(&state, &token))
            .await
            .map_err(ApiError::internal)??
    };
    let credential = validated.credential;
    let active = credential.revoked_at.is_none()
        && parse_rfc3339(&credential.expires_at).is_some_and(|expires| now < expires);
    if !active {
        state.runtime().auth_cache.forget(token);
        return Err(ApiError::new(Reason::TokenInactive));
    }
    let granted: BTreeSet<String> = credential.scopes.iter().cloned().collect();
    let missing: Vec<&String> = operation
        .auth
        .required_scopes
        .iter()
        .filter(|scope| !granted.contains(*scope))
        .collect();
    if !missing.is_empty() {
        return Err(ApiError::new(Reason::TokenScopeInsufficient)
            .with("operation_id", &operation.operation_id)
            .with("required_scopes", &operation.auth.required_scopes)
            .with("missing_scopes", &missing));
    }
    if validated.verified_now {
        note_use(state, &credential.id, now).await;
    }
    let principal = match (kind, credential.deployment_id) {
        (TokenKind::VendorKey, _) => Principal::Vendor {
            vendor_id: credential.vendor_id,
            credential_id: credential.id,
        },
        (TokenKind::DeploymentToken, Some(deployment_id)) => Principal::Deployment {
            vendor_id: credential.vendor_id,
            deployment_id,
            credential_id: credential.id,
        },
        (TokenKind::DeploymentToken, None) => {
            return Err(ApiError::internal(
                "a deployment token without a deployment",
            ));
        }
    };
    Ok(Caller {
        principal,
        scopes: granted,
    })
}

/// The token of `Bearer <token>` (the scheme's name in any case).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

fn malformed(rule: &str) -> ApiError {
    ApiError::new(Reason::TokenMalformed).with("rule", rule)
}

struct Validated {
    credential: Credential,
    /// Whether the secret was verified against its hash for this request (not cached).
    verified_now: bool,
}

/// The credential behind a well-formed `token`, from the cache or the store. Runs on a
/// blocking thread: a verification is an argon2id hash.
fn validate(state: &AppState, token: &str) -> Result<Validated, ApiError> {
    let runtime = state.runtime();
    let parsed = ParsedToken::parse(token).map_err(|_| malformed("shape"))?;
    let tx = runtime.store.read()?;
    let revocations = tx.revocation_seq()?;
    if let Some(cached) = runtime.auth_cache.get(token) {
        if cached.revocation_seq == revocations {
            return Ok(Validated {
                credential: cached.credential,
                verified_now: false,
            });
        }
        // Something was revoked since: read this credential's row again (its hash was
        // verified for this very token already).
        let Some(current) = tx.credential(parsed.id)? else {
            runtime.auth_cache.forget(token);
            return Err(ApiError::new(Reason::TokenInactive));
        };
        runtime.auth_cache.put(token, current.clone(), revocations);
        return Ok(Validated {
            credential: current,
            verified_now: false,
        });
    }
    let Some(stored) = tx.credential(parsed.id)? else {
        return Err(ApiError::new(Reason::TokenInactive));
    };
    drop(tx);
    if stored.kind != parsed.kind
        || !runtime
            .env
            .hasher
            .verify(parsed.secret, &stored.salt, &stored.hash)
    {
        return Err(ApiError::new(Reason::TokenInactive));
    }
    runtime.auth_cache.put(token, stored.clone(), revocations);
    Ok(Validated {
        credential: stored,
        verified_now: true,
    })
}

/// Notes when a credential was verified last (`last_used_at`): at most once per cache period
/// per instance, in a write of its own, so that a read never waits for it. A failure to note it
/// is logged, never answered.
async fn note_use(state: &AppState, credential_id: &str, now: OffsetDateTime) {
    let store = Arc::clone(&state.runtime().store);
    let id = credential_id.to_owned();
    let at = format_rfc3339_millis(now);
    let noted = state
        .runtime()
        .writer
        .run(move || -> Result<(), crate::store::StoreError> {
            let mut tx = store.write()?;
            tx.touch_credential(&id, &at)?;
            tx.commit()
        })
        .await;
    if !matches!(noted, Ok(Ok(()))) {
        tracing::warn!("noting a credential's last use failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_bearer_scheme_carries_a_token() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer  abc "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearer "), None);
    }
}
