//! The data marketplace's operations, one module per part of the loop. Auth, idempotency,
//! body validation and field guidance already ran; these functions hold the rules the schemas
//! cannot say, and take every field's reason from the manifest ([`OpContext::field_error`]).

use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::api::{Handler, OpContext, Page};
use crate::clock::{format_rfc3339_millis, parse_rfc3339};
use crate::error::ApiError;
use crate::reason::Reason;

use super::money::Money;
use super::store::{DataMarketStore, Sequenced};
use super::types::TimeInput;

mod contracts;
mod intents;
mod matching;
mod metrics;
mod offers;
mod rounds;

pub const HANDLERS: &[(&str, Handler)] = &[
    ("dataOffers.create", offers::create),
    ("dataOffers.list", offers::list),
    ("dataOffers.get", offers::get),
    ("dataOffers.update", offers::update),
    ("roundIntents.create", intents::create),
    ("roundIntents.list", intents::list),
    ("roundIntents.get", intents::get),
    ("roundIntents.update", intents::update),
    ("dataMarketplace.preview", matching::preview),
    ("dataMarketplace.match", matching::match_intent),
    ("dataContracts.list", contracts::list),
    ("dataContracts.get", contracts::get),
    ("dataContracts.timeline", contracts::timeline),
    ("escrow.release", contracts::release_escrow),
    ("trainingRounds.create", rounds::create),
    ("trainingRounds.triggerFl", rounds::create),
    ("trainingRounds.list", rounds::list),
    ("trainingRounds.get", rounds::get),
    ("training.status", metrics::training_status),
    ("metrics.summary", metrics::summary),
    ("metrics.prometheus", metrics::prometheus),
];

/// The privilege (the manifest's `auth.privileges`) of the marketplace's operator, who may act
/// for providers and owners.
const OPERATOR: &str = "operator";

fn is_operator(ctx: &OpContext<'_>) -> Result<bool, ApiError> {
    ctx.has_privilege(OPERATOR)
}

fn now_text(ctx: &OpContext<'_>) -> String {
    format_rfc3339_millis(ctx.now())
}

/// An instant given as RFC 3339 or Unix seconds.
fn instant(input: &TimeInput) -> Option<OffsetDateTime> {
    match input {
        TimeInput::Text(text) => parse_rfc3339(text),
        TimeInput::UnixSeconds(seconds) => OffsetDateTime::from_unix_timestamp(*seconds).ok(),
    }
}

/// The time field at `pointer`, which must lie after `now`, as RFC 3339.
fn future_time(
    ctx: &OpContext<'_>,
    input: &TimeInput,
    now: OffsetDateTime,
    pointer: &str,
) -> Result<String, ApiError> {
    let at = instant(input).ok_or_else(|| ctx.field_error(pointer, "format"))?;
    if at <= now {
        return Err(ctx.field_error(pointer, "future"));
    }
    Ok(format_rfc3339_millis(at))
}

/// The amount of USD at `pointer`, with at most 6 decimals.
fn money(ctx: &OpContext<'_>, usd: f64, pointer: &str) -> Result<Money, ApiError> {
    Money::from_usd(usd).ok_or_else(|| ctx.field_error(pointer, "max_6_decimals"))
}

fn next_id(
    tx: &mut dyn DataMarketStore,
    counter: &str,
    prefix: &str,
) -> Result<(u64, String), ApiError> {
    let seq = tx.next_counter(counter)?;
    Ok((seq, format!("{prefix}_{seq:06}")))
}

/// The `seq` after which a page starts: that of the `cursor` row.
fn cursor_seq(
    ctx: &OpContext<'_>,
    tx: &dyn DataMarketStore,
    table: Sequenced,
) -> Result<Option<u64>, ApiError> {
    Page::cursor_seq(ctx, |cursor| tx.seq_of(table, cursor))
}

fn transition_refused(current: &str, next: &str) -> ApiError {
    ApiError::new(Reason::InvalidStatusTransition)
        .with("current_status", current)
        .with("next_status", next)
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}
