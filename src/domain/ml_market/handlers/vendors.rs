//! Vendors, their keys, and token introspection (spec section 2).

use std::collections::BTreeSet;

use crate::api::{OpContext, Page, Reply, respond};
use crate::clock::parse_rfc3339;
use crate::credentials::{ParsedToken, TokenKind};
use crate::error::ApiError;
use crate::reason::Reason;
use crate::store::{Credential, Tx};

use super::super::issue::{Grant, Issued, issue_credential};
use super::super::rules::VENDOR_KEY_LIFETIME;
use super::super::store::{self, Listed, MlStore};
use super::super::types::{
    IntrospectRequest, Introspection, KeyCreateRequest, KeyIssued, KeyRevoked, KeySummary, Vendor,
    VendorCreateRequest, VendorCreated, VendorMe, VendorScope,
};
use super::{cursor_seq, next_id, now_text, page_of};

/// A vendor and its first key, which holds every vendor scope.
pub(super) fn create(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let request: VendorCreateRequest = ctx.body()?;
    let (seq, vendor_id) = next_id(tx, "ml_vendor", "vendor")?;
    let vendor = Vendor {
        vendor_id: vendor_id.clone(),
        name: request.name,
        created_at: now_text(ctx.now()),
    };
    tx.insert_vendor(&vendor, seq)?;
    let scopes = VendorScope::ALL
        .map(|scope| scope.as_str().to_owned())
        .to_vec();
    let key = vendor_key(ctx, tx, &vendor_id, scopes)?;
    respond(&VendorCreated {
        vendor_id,
        name: vendor.name,
        key_id: key.credential.id,
        api_key: key.token,
        scopes: VendorScope::ALL.to_vec(),
        expires_at: key.credential.expires_at,
    })
}

pub(super) fn list(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let page = Page::from_query(ctx);
    let after = cursor_seq(ctx, tx, Listed::Vendors)?;
    let vendors = tx.vendors_page(after, page.fetch())?;
    respond(&page_of(&page, vendors, |vendor| vendor.vendor_id.clone()))
}

fn vendor_key(
    ctx: &OpContext<'_>,
    tx: &mut dyn MlStore,
    vendor_id: &str,
    scopes: Vec<String>,
) -> Result<Issued, ApiError> {
    let grant = Grant {
        kind: TokenKind::VendorKey,
        vendor_id,
        deployment_id: None,
        scopes,
        lifetime: VENDOR_KEY_LIFETIME,
    };
    Ok(issue_credential(tx, &ctx.env.hasher, ctx.now(), grant)?)
}

/// The calling key's credential, which the pipeline authenticated.
fn calling_key(ctx: &OpContext<'_>, tx: &dyn MlStore) -> Result<(String, Credential), ApiError> {
    let (vendor_id, key_id) = ctx.vendor()?;
    let key = tx
        .credential(key_id)?
        .ok_or_else(|| ApiError::new(Reason::TokenInactive))?;
    Ok((vendor_id.to_owned(), key))
}

pub(super) fn me(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let (vendor_id, key) = calling_key(ctx, tx)?;
    let vendor = tx
        .vendor(&vendor_id)?
        .ok_or_else(|| ApiError::internal("a key of no vendor"))?;
    respond(&VendorMe {
        vendor_id,
        name: vendor.name,
        key_id: key.id,
        scopes: key.scopes,
        expires_at: key.expires_at,
    })
}

/// A new key, with the scopes asked for, which must be the calling key's or fewer.
pub(super) fn create_key(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let request: KeyCreateRequest = ctx.body()?;
    let (vendor_id, calling) = calling_key(ctx, tx)?;
    let scopes: Vec<String> = match request.scopes {
        Some(asked) => asked
            .iter()
            .map(|scope| scope.as_str().to_owned())
            .collect(),
        None => calling.scopes.clone(),
    };
    let held: BTreeSet<&String> = calling.scopes.iter().collect();
    let beyond: Vec<&String> = scopes
        .iter()
        .filter(|scope| !held.contains(scope))
        .collect();
    if !beyond.is_empty() {
        return Err(ApiError::new(Reason::TokenScopeInsufficient)
            .with("operation_id", &ctx.operation.operation_id)
            .with("missing_scopes", &beyond));
    }
    let key = vendor_key(ctx, tx, &vendor_id, scopes)?;
    respond(&KeyIssued {
        key_id: key.credential.id,
        api_key: key.token,
        scopes: key.credential.scopes,
        created_at: key.credential.created_at,
        expires_at: key.credential.expires_at,
    })
}

fn active(credential: &Credential, ctx: &OpContext<'_>) -> bool {
    credential.revoked_at.is_none()
        && parse_rfc3339(&credential.expires_at).is_some_and(|expires| ctx.now() < expires)
}

pub(super) fn list_keys(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let (vendor_id, _) = ctx.vendor()?;
    let items: Vec<KeySummary> = tx
        .vendor_credentials(vendor_id, TokenKind::VendorKey)?
        .into_iter()
        .map(|key| KeySummary {
            active: active(&key, ctx),
            prefix: format!("{}_{}_", TokenKind::VendorKey.prefix(), key.id),
            key_id: key.id,
            last4: key.last4,
            scopes: key.scopes,
            created_at: key.created_at,
            expires_at: key.expires_at,
            revoked_at: key.revoked_at,
            last_used_at: key.last_used_at,
        })
        .collect();
    respond(&super::super::types::List {
        items,
        next_cursor: None,
    })
}

/// Revokes one of the vendor's keys, at once on every instance (the store's revocation
/// sequence moves). A key revoked already answers when it was.
pub(super) fn revoke_key(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let (vendor_id, _) = ctx.vendor()?;
    let key_id = ctx.path_param("key_id");
    let key = tx
        .credential(key_id)?
        .filter(|key| key.kind == TokenKind::VendorKey)
        .ok_or_else(|| ApiError::new(Reason::KeyNotFound).with("key_id", key_id))?;
    if key.vendor_id != vendor_id {
        return Err(ApiError::new(Reason::VendorMismatch).with("key_id", key_id));
    }
    let revoked_at = match key.revoked_at {
        Some(at) => at,
        None => {
            let at = now_text(ctx.now());
            tx.revoke_credential(key_id, &at)?;
            at
        }
    };
    respond(&KeyRevoked {
        key_id: key.id,
        revoked_at,
    })
}

/// RFC 7662: what a token is, if it is active now; only `{active: false}` otherwise.
pub(super) fn introspect(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let request: IntrospectRequest = ctx.body()?;
    let inactive = || respond(&Introspection::default());
    let Ok(parsed) = ParsedToken::parse(&request.token) else {
        return inactive();
    };
    let Some(credential) = tx.credential(parsed.id)? else {
        return inactive();
    };
    let genuine = credential.kind == parsed.kind
        && ctx
            .env
            .hasher
            .verify(parsed.secret, &credential.salt, &credential.hash);
    if !genuine || !active(&credential, ctx) {
        return inactive();
    }
    let unix = |text: &str| parse_rfc3339(text).map(time::OffsetDateTime::unix_timestamp);
    respond(&Introspection {
        active: true,
        token_type: Some(credential.kind.as_str().to_owned()),
        exp: unix(&credential.expires_at),
        iat: unix(&credential.created_at),
        vendor_id: Some(credential.vendor_id),
        deployment_id: credential.deployment_id,
        scope: Some(credential.scopes.join(" ")),
    })
}
