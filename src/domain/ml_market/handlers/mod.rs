//! The ML marketplace's operations, one module per part. The pipeline already authenticated
//! the caller by the operation's scheme (gateway, vendor key or deployment token), counted its
//! rate limit and validated the body; these functions hold the rules the schemas cannot say.

use time::OffsetDateTime;

use crate::api::{Handler, OpContext, Page};
use crate::clock::format_rfc3339_millis;
use crate::credentials::{Signature, UrlRefusal};
use crate::error::ApiError;
use crate::reason::Reason;
use crate::store::StoreError;

use super::rules::SIGNED_URL_TTL_S;

use super::store::{Listed, MlStore};
use super::types::List;

mod catalog;
mod datasets;
mod deployments;
mod models;
mod signals;
mod training;
mod vendors;

pub const HANDLERS: &[(&str, Handler)] = &[
    ("mlVendors.create", vendors::create),
    ("mlVendors.list", vendors::list),
    ("mlVendors.me", vendors::me),
    ("mlKeys.create", vendors::create_key),
    ("mlKeys.list", vendors::list_keys),
    ("mlKeys.revoke", vendors::revoke_key),
    ("mlTokens.introspect", vendors::introspect),
    ("mlRounds.create", datasets::create_round),
    ("mlRounds.list", datasets::list_rounds),
    ("mlRounds.current", datasets::current_round),
    ("mlRounds.get", datasets::get_round),
    ("mlDatasets.signedUrls", datasets::signed_urls),
    ("mlDatasets.file", datasets::file),
    ("mlModels.create", models::create),
    ("mlModels.list", models::list),
    ("mlModels.get", models::get),
    ("mlModels.listAll", models::list_all),
    ("mlVersions.create", models::create_version),
    ("mlVersions.stage", models::stage),
    ("mlDeployments.create", deployments::create),
    ("mlDeployments.list", deployments::list),
    ("mlDeployments.rotateToken", deployments::rotate_token),
    ("mlHeartbeats.record", deployments::heartbeat),
    ("mlSignals.store", signals::store),
    ("mlSignals.list", signals::list),
    ("mlConsensus.store", signals::store_consensus),
    ("mlConsensus.get", signals::consensus),
    ("mlCatalog.list", catalog::list),
    ("mlTraining.create", training::create),
    ("mlTraining.list", training::list),
    ("mlTraining.get", training::get),
    ("mlTraining.logs", training::logs),
    ("mlTraining.cancel", training::cancel),
    ("mlTraining.results", training::results),
    ("mlTraining.artifact", training::artifact),
];

fn now_text(now: OffsetDateTime) -> String {
    format_rfc3339_millis(now)
}

/// The next id of a kind: `prefix_000001`, with its sequence number.
fn next_id(tx: &mut dyn MlStore, counter: &str, prefix: &str) -> Result<(u64, String), StoreError> {
    let seq = tx.next_counter(counter)?;
    Ok((seq, format!("{prefix}_{seq:06}")))
}

/// Where a page in creation order starts: after the `cursor` row.
fn cursor_seq(
    ctx: &OpContext<'_>,
    tx: &dyn MlStore,
    table: Listed,
) -> Result<Option<u64>, ApiError> {
    Page::cursor_seq(ctx, |cursor| tx.seq_of(table, cursor))
}

/// One page of `rows`, as `{items, next_cursor}`.
fn page_of<T>(page: &Page, rows: Vec<T>, cursor_of: impl Fn(&T) -> String) -> List<T> {
    let (items, next_cursor) = page.split(rows, cursor_of);
    List { items, next_cursor }
}

/// A signed link to `path` (`GET`), good for 900 seconds of the request clock: the URL and
/// when it expires. Relative to the server that answered: any instance checks it.
fn signed_link(ctx: &OpContext<'_>, path: &str) -> (String, OffsetDateTime) {
    let ttl = time::Duration::seconds(i64::try_from(SIGNED_URL_TTL_S).unwrap_or(i64::MAX));
    let expires = ctx.now() + ttl;
    let signed = ctx
        .env
        .url_signer
        .sign("GET", path, expires.unix_timestamp());
    (
        format!(
            "{path}?exp={}&kid={}&sig={}",
            signed.exp, signed.kid, signed.sig
        ),
        expires,
    )
}

/// Refuses a request for `path` whose `exp`, `kid` and `sig` are not a live signature of it.
fn check_signed_link(ctx: &OpContext<'_>, path: &str) -> Result<(), ApiError> {
    let signature = Signature {
        exp: ctx.query_int("exp").unwrap_or_default(),
        kid: ctx.query_str("kid").unwrap_or_default().to_owned(),
        sig: ctx.query_str("sig").unwrap_or_default().to_owned(),
    };
    ctx.env
        .url_signer
        .verify("GET", path, &signature, ctx.now().unix_timestamp())
        .map_err(|refusal: UrlRefusal| {
            ApiError::new(Reason::SignedUrlInvalid).with("rule", refusal.as_str())
        })
}
