//! The swap domain's operations. Auth, idempotency and body validation already ran; these
//! functions hold only the domain's rules.

use std::collections::BTreeMap;

use crate::actor::{ActorRef, ActorType};
use crate::api::{Handler, OpContext, Page, Reply, respond};
use crate::clock::parse_rfc3339;
use crate::error::ApiError;
use crate::reason::Reason;
use crate::store::Tx;

use super::engine::{self, SelectionChoice};
use super::store::{self, SwapStore};
use super::types::{
    CycleProposal, CycleProposalListResponse, CycleProposalResponse, DevFixtures,
    DevFixturesResponse, IntentStatus, LoadedCounts, MatchingRun, MatchingRunListResponse,
    MatchingRunRequest, MatchingRunResponse, ProposalOrigin, ProposalStatus, SwapIntent,
    SwapIntentCreateRequest, SwapIntentListResponse, SwapIntentResponse,
};

pub const HANDLERS: &[(&str, Handler)] = &[
    ("swapIntents.create", create_intent),
    ("swapIntents.list", list_intents),
    ("swapIntents.get", get_intent),
    ("swapIntents.cancel", cancel_intent),
    ("marketplaceMatching.run", run_matching),
    ("marketplaceMatchingRun.get", get_run),
    ("marketplaceMatchingRun.list", list_runs),
    ("cycleProposals.list", list_proposals),
    ("cycleProposals.get", get_proposal),
    ("dev.fixtures.load", load_fixtures),
];

/// The counter behind run ids.
const RUN_COUNTER: &str = "marketplace_matching_run";

const DEFAULT_MAX_PROPOSALS: u32 = 50;
const DEFAULT_MAX_SOLVE_MS: u64 = 500;

fn create_intent(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let caller = ctx.caller()?;
    let SwapIntentCreateRequest { intent } = ctx.body()?;
    if caller.kind == ActorType::User && intent.actor != *caller {
        return Err(ApiError::new(Reason::SwapIntentActorMismatch)
            .with("caller", caller)
            .with("intent_actor", &intent.actor));
    }
    if intent.value_band.min_usd.as_f64() > intent.value_band.max_usd.as_f64() {
        return Err(ctx.field_error("/intent/value_band/min_usd", "min_not_above_max"));
    }
    if tx.intent(&intent.id)?.is_some() {
        return Err(ApiError::new(Reason::SwapIntentAlreadyExists).with("intent_id", &intent.id));
    }
    tx.insert_intent(&intent, caller)?;
    respond(&SwapIntentResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        intent,
    })
}

fn list_intents(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let caller = ctx.caller()?;
    let page = Page::from_query(ctx);
    let intents = tx.intents_of(caller, ctx.query_str("cursor"), page.fetch())?;
    let (intents, next_cursor) = page.split(intents, |intent: &SwapIntent| intent.id.clone());
    respond(&SwapIntentListResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        intents,
        next_cursor,
    })
}

/// The intent `id` when the caller is its actor or submitted it; otherwise not found, so that
/// ids of others are not disclosed.
fn visible_intent(ctx: &OpContext<'_>, tx: &dyn SwapStore) -> Result<SwapIntent, ApiError> {
    let caller = ctx.caller()?;
    let id = ctx.path_param("id");
    match tx.intent(id)? {
        Some(stored) if stored.intent.actor == *caller || stored.created_by == *caller => {
            Ok(stored.intent)
        }
        _ => Err(ApiError::new(Reason::SwapIntentNotFound).with("intent_id", id)),
    }
}

fn get_intent(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let intent = visible_intent(ctx, store::of(tx)?)?;
    respond(&SwapIntentResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        intent,
    })
}

fn cancel_intent(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let mut intent = visible_intent(ctx, tx)?;
    if intent.status == IntentStatus::Cancelled {
        return Err(ApiError::new(Reason::SwapIntentAlreadyCancelled).with("intent_id", &intent.id));
    }
    tx.set_intent_status(&intent.id, IntentStatus::Cancelled)?;
    intent.status = IntentStatus::Cancelled;
    respond(&SwapIntentResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        intent,
    })
}

/// A matching run, all in the request's one transaction (spec section 5).
fn run_matching(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let caller = ctx.caller()?;
    let request: MatchingRunRequest = ctx.body()?;
    let recorded_at = request
        .recorded_at
        .clone()
        .unwrap_or_else(|| ctx.now_text());
    let Some(recorded_instant) = parse_rfc3339(&recorded_at) else {
        return Err(ctx.field_error("/recorded_at", "format"));
    };
    let replace_existing = request.replace_existing.unwrap_or(true);
    let max_proposals = request.max_proposals.unwrap_or(DEFAULT_MAX_PROPOSALS);
    // A run that says nothing about selection keeps the M111 record exactly: greedy, no report.
    let choice = (request.selection.is_some()
        || request.objective.is_some()
        || request.max_solve_ms.is_some())
    .then(|| SelectionChoice {
        strategy: request.selection.unwrap_or_default(),
        objective: request.objective.unwrap_or_default(),
        max_solve_ms: request.max_solve_ms.map_or(DEFAULT_MAX_SOLVE_MS, u64::from),
    });

    // 1. Asset values: stored, overlaid by the intents' own hints (in id order), overlaid by
    //    the request's.
    let intents = tx.matchable_intents()?;
    let stored = tx.asset_values()?;
    let merged = engine::merge_asset_values(
        stored.clone(),
        &intents,
        request
            .asset_values_usd
            .unwrap_or_default()
            .into_iter()
            .map(|(asset_id, value)| (asset_id, value.0)),
    );
    if merged.is_empty() {
        return Err(ApiError::new(Reason::MarketplaceMatchingAssetValuesMissing));
    }
    // The whole merged map is the stored map afterwards; writing only what differs from the
    // stored text (most runs: nothing) leaves the same rows as writing everything.
    let changed: BTreeMap<String, serde_json::Number> = merged
        .iter()
        .filter(|(asset_id, value)| {
            stored
                .get(*asset_id)
                .is_none_or(|old| old.to_string() != value.to_string())
        })
        .map(|(asset_id, value)| (asset_id.clone(), value.clone()))
        .collect();
    drop(stored);
    tx.put_asset_values(&changed)?;

    // 2 and 3. Expiry, then replacement, of the marketplace's proposals not in use.
    let (mut expired, mut replaced) = (0u64, 0u64);
    for proposal in tx.marketplace_proposals()? {
        if proposal.status.in_use() {
            continue;
        }
        let is_expired = match parse_rfc3339(&proposal.expires_at) {
            Some(expires) => expires <= recorded_instant,
            None => proposal.expires_at.as_str() <= recorded_at.as_str(),
        };
        if is_expired {
            tx.delete_proposal(&proposal.id)?;
            expired += 1;
        } else if replace_existing {
            tx.delete_proposal(&proposal.id)?;
            replaced += 1;
        }
    }

    // 4. The engine.
    // Only the kept proposals are built in full; the counts cover every selected one.
    let keep = usize::try_from(max_proposals).unwrap_or(usize::MAX);
    let outcome = engine::run_observed(
        &intents,
        &engine::engine_values(&merged),
        keep,
        choice,
        &mut |_| {},
    );
    let kept = outcome.selected;

    // 5. The run id, allocated only now: a run that failed above consumed none.
    let seq = tx.next_counter(RUN_COUNTER)?;
    let run_id = format!("mrun_{seq:06}");
    let mut proposal_ids = Vec::with_capacity(kept.len());
    for draft in &kept {
        // A kept cycle whose proposal is already in use stays as it is.
        if tx
            .proposal(&draft.id)?
            .is_some_and(|existing| existing.status.in_use())
        {
            continue;
        }
        tx.put_proposal(&CycleProposal {
            id: draft.id.clone(),
            status: ProposalStatus::Proposed,
            origin: ProposalOrigin::Marketplace,
            owner: caller.clone(),
            matching_run_id: Some(run_id.clone()),
            created_at: recorded_at.clone(),
            expires_at: draft.expires_at.clone(),
            participants: draft.participants.clone(),
            confidence_score: crate::json::JsNumber(draft.confidence_score),
            value_spread: crate::json::JsNumber(draft.value_spread),
            fee_breakdown: draft.fee_breakdown.clone(),
            explainability: draft.explainability.clone(),
        })?;
        proposal_ids.push(draft.id.clone());
    }
    let run = MatchingRun {
        run_id,
        requested_by: caller.clone(),
        recorded_at,
        replace_existing,
        max_proposals,
        active_intents_count: outcome.stats.intents_active,
        selected_proposals_count: kept.len() as u64,
        stored_proposals_count: proposal_ids.len() as u64,
        replaced_proposals_count: replaced,
        expired_proposals_count: expired,
        proposal_ids,
        stats: outcome.stats,
        diagnostics: outcome.diagnostics,
    };
    tx.insert_run(&run, seq)?;
    respond(&MatchingRunResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        run,
    })
}

fn get_run(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let run_id = ctx.path_param("run_id");
    let run = tx.run(run_id)?.ok_or_else(|| {
        ApiError::new(Reason::MarketplaceMatchingRunNotFound).with("run_id", run_id)
    })?;
    respond(&MatchingRunResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        run,
    })
}

fn list_runs(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let page = Page::from_query(ctx);
    let before = Page::cursor_seq(ctx, |cursor| tx.run_seq(cursor))?;
    let runs = tx.runs_page(before, page.fetch())?;
    let (runs, next_cursor) = page.split(runs, |run: &MatchingRun| run.run_id.clone());
    respond(&MatchingRunListResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        runs,
        next_cursor,
    })
}

/// A partner sees the proposals it owns; a user those it takes part in (the manifest lets no
/// other actor type read proposals).
fn can_see(caller: &ActorRef, proposal: &CycleProposal) -> bool {
    if caller.kind == ActorType::Partner {
        proposal.owner == *caller
    } else {
        proposal.participants.iter().any(|p| p.actor == *caller)
    }
}

fn list_proposals(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let caller = ctx.caller()?;
    let page = Page::from_query(ctx);
    let cursor = ctx.query_str("cursor");
    let proposals = if caller.kind == ActorType::Partner {
        tx.proposals_owned_by(caller, cursor, page.fetch())?
    } else {
        tx.proposals_with_participant(caller, cursor, page.fetch())?
    };
    let (proposals, next_cursor) = page.split(proposals, |p: &CycleProposal| p.id.clone());
    respond(&CycleProposalListResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        proposals,
        next_cursor,
    })
}

fn get_proposal(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let caller = ctx.caller()?;
    let id = ctx.path_param("id");
    match tx.proposal(id)? {
        Some(proposal) if can_see(caller, &proposal) => respond(&CycleProposalResponse {
            correlation_id: ctx.correlation_id.to_owned(),
            proposal,
        }),
        _ => Err(ApiError::new(Reason::CycleProposalNotFound).with("proposal_id", id)),
    }
}

/// Loads a seed state as it is (dev only): intents, proposals, stored asset values and the run
/// counter.
fn load_fixtures(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let fixtures: DevFixtures = ctx.body()?;
    for intent in &fixtures.intents {
        tx.put_intent(intent, &intent.actor)?;
    }
    for proposal in &fixtures.proposals {
        tx.put_proposal(proposal)?;
    }
    let values: BTreeMap<String, serde_json::Number> = fixtures
        .asset_values_usd
        .iter()
        .map(|(asset_id, value)| (asset_id.clone(), value.0.clone()))
        .collect();
    tx.put_asset_values(&values)?;
    let mut counters = 0;
    if let Some(value) = fixtures.counters.marketplace_matching_run {
        tx.set_counter(RUN_COUNTER, value)?;
        counters += 1;
    }
    respond(&DevFixturesResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        loaded: LoadedCounts {
            intents: fixtures.intents.len() as u64,
            proposals: fixtures.proposals.len() as u64,
            asset_values: values.len() as u64,
            counters,
        },
    })
}
