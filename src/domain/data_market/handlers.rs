//! The data marketplace's operations. Auth, idempotency, body validation and field guidance
//! already ran; these functions hold the rules the schemas cannot say.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::clock::{format_rfc3339_millis, parse_rfc3339};
use crate::domain::{ActorRef, Page};
use crate::error::ApiError;
use crate::http::{Handler, OpContext, field_error, respond};
use crate::json::{JsNumber, round_to};
use crate::reason::Reason;
use crate::store::Tx;

use super::money::Money;
use super::rules::{self, Policy, REJECTION_REASONS, Selection};
use super::store::{ContractFilter, IntentFilter, OfferFilter, Sequenced};
use super::training::{self, ShardSpec};
use super::types::{
    Contract, ContractListResponse, ContractResponse, ContractState, ContractsByState,
    EffectivePolicy, EscrowReleaseRequest, EscrowStatus, MarketplaceSnapshot, MatchRequest,
    MetricsSummaryResponse, Offer, OfferCreateRequest, OfferListResponse, OfferResponse,
    OfferStatus, OfferUpdateRequest, Payout, PayoutStatus, PendingContractSummary,
    PendingContracts, Preview, PreviewRequest, PreviewResponse, RoundIntent,
    RoundIntentCreateRequest, RoundIntentListResponse, RoundIntentResponse, RoundIntentStatus,
    RoundIntentUpdateRequest, RoundMetrics, RoundParticipant, TimeInput, TimelineEvent,
    TimelineEventKind, TimelineResponse, TrainingRound, TrainingRoundListResponse,
    TrainingRoundRequest, TrainingRoundResponse, TrainingStatusResponse,
};

pub const HANDLERS: &[(&str, Handler)] = &[
    ("dataOffers.create", create_offer),
    ("dataOffers.list", list_offers),
    ("dataOffers.get", get_offer),
    ("dataOffers.update", update_offer),
    ("roundIntents.create", create_intent),
    ("roundIntents.list", list_intents),
    ("roundIntents.get", get_intent),
    ("roundIntents.update", update_intent),
    ("dataMarketplace.preview", preview),
    ("dataMarketplace.match", match_intent),
    ("dataContracts.list", list_contracts),
    ("dataContracts.get", get_contract),
    ("dataContracts.timeline", contract_timeline),
    ("escrow.release", release_escrow),
    ("trainingRounds.create", create_round),
    ("trainingRounds.triggerFl", create_round),
    ("trainingRounds.list", list_rounds),
    ("trainingRounds.get", get_round),
    ("training.status", training_status),
    ("metrics.summary", metrics_summary),
    ("metrics.prometheus", prometheus),
];

/// The scope of the marketplace's operator, who may act for providers and owners.
pub const OPERATE: &str = "marketplace:operate";
/// The operation whose calls the match metrics count.
const MATCH_OPERATION: &str = "dataMarketplace.match";
const DEFAULT_TITLE: &str = "Untitled Offer";
const DEFAULT_MAX_OFFERS: u32 = 3;
const DEFAULT_DEADLINE: time::Duration = time::Duration::hours(1);
const RECENT_OPERATIONS: usize = 20;

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

/// A time field that must lie after `now`, as RFC 3339.
fn future_time(
    input: &TimeInput,
    now: OffsetDateTime,
    reason: Reason,
    pointer: &str,
) -> Result<String, ApiError> {
    let at = instant(input).ok_or_else(|| field_error(reason, pointer, "format"))?;
    if at <= now {
        return Err(field_error(reason, pointer, "future"));
    }
    Ok(format_rfc3339_millis(at))
}

fn money(usd: f64, reason: Reason, pointer: &str) -> Result<Money, ApiError> {
    Money::from_usd(usd).ok_or_else(|| field_error(reason, pointer, "max_6_decimals"))
}

fn next_id(tx: &mut dyn Tx, counter: &str, prefix: &str) -> Result<(u64, String), ApiError> {
    let seq = tx.next_counter(counter)?;
    Ok((seq, format!("{prefix}_{seq:06}")))
}

/// The `seq` after which a page starts: that of the `cursor` row.
fn cursor_seq(ctx: &OpContext<'_>, tx: &dyn Tx, table: Sequenced) -> Result<Option<u64>, ApiError> {
    Page::cursor_seq(ctx, |cursor| tx.seq_of(table, cursor))
}

fn is_operator(ctx: &OpContext<'_>) -> bool {
    ctx.caller_has_scope(OPERATE)
}

// ---------------------------------------------------------------------------------------------
// Offers

fn create_offer(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Value, ApiError> {
    let caller = ctx.caller()?;
    let request: OfferCreateRequest = ctx.body()?;
    let now = ctx.now();
    if request.seller_node_id != caller.id && !is_operator(ctx) {
        return Err(ApiError::new(Reason::SellerNodeMismatch)
            .with("field", "seller_node_id")
            .with("rule", "caller")
            .with("seller_node_id", &request.seller_node_id)
            .with("caller", caller));
    }
    let attestation = request
        .attestation_status
        .unwrap_or(super::types::AttestationStatus::Unknown);
    check_attestation(ctx, attestation)?;
    let price_per_round = money(
        request.price_per_round,
        Reason::InvalidPricePerRound,
        "/price_per_round",
    )?;
    let expires_at = request
        .expires_at
        .as_ref()
        .map(|at| future_time(at, now, Reason::InvalidExpiresAt, "/expires_at"))
        .transpose()?;
    let status = request.status.unwrap_or(OfferStatus::Active);
    if status == OfferStatus::Retired {
        return Err(field_error(
            Reason::InvalidStatus,
            "/status",
            "initial_status",
        ));
    }
    if status == OfferStatus::Active {
        refuse_duplicate(
            tx,
            &request.seller_node_id,
            &request.dataset_fingerprint,
            None,
        )?;
    }
    let (seq, offer_id) = next_id(tx, "data_offer", "offer")?;
    let stamp = format_rfc3339_millis(now);
    let offer = Offer {
        offer_id,
        seller_node_id: request.seller_node_id,
        dataset_fingerprint: request.dataset_fingerprint,
        title: request.title.unwrap_or_else(|| DEFAULT_TITLE.to_owned()),
        description: request.description.unwrap_or_default(),
        modality: request.modality,
        label_schema: request.label_schema.unwrap_or_else(|| "unknown".to_owned()),
        privacy_profile: request
            .privacy_profile
            .unwrap_or_else(|| "dp-ready".to_owned()),
        sample_count: request.sample_count.unwrap_or(0),
        quality_score: JsNumber(request.quality_score),
        allowed_tasks: request.allowed_tasks.unwrap_or_default(),
        attestation_status: attestation,
        price_per_round,
        min_rounds: request.min_rounds.unwrap_or(1),
        expires_at,
        status,
        created_at: stamp.clone(),
        updated_at: stamp,
    };
    tx.insert_offer(&offer, seq)?;
    respond(&OfferResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        offer,
    })
}

fn check_attestation(
    ctx: &OpContext<'_>,
    status: super::types::AttestationStatus,
) -> Result<(), ApiError> {
    if status == super::types::AttestationStatus::Verified && !is_operator(ctx) {
        return Err(ApiError::new(Reason::AttestationRequiresOperator)
            .with("field", "attestation_status")
            .with("rule", "operator_only"));
    }
    Ok(())
}

fn refuse_duplicate(
    tx: &dyn Tx,
    seller: &str,
    fingerprint: &str,
    except: Option<&str>,
) -> Result<(), ApiError> {
    match tx.active_offer_for(seller, fingerprint, except)? {
        Some(existing) => Err(ApiError::new(Reason::DuplicateActiveOffer)
            .with("offer_id", existing)
            .with("seller_node_id", seller)
            .with("dataset_fingerprint", fingerprint)),
        None => Ok(()),
    }
}

fn stored_offer(ctx: &OpContext<'_>, tx: &dyn Tx) -> Result<Offer, ApiError> {
    let offer_id = ctx.path_param("offer_id");
    tx.offer(offer_id)?
        .ok_or_else(|| ApiError::new(Reason::OfferNotFound).with("offer_id", offer_id))
}

fn get_offer(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Value, ApiError> {
    let offer = stored_offer(ctx, tx)?;
    respond(&OfferResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        offer,
    })
}

fn list_offers(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Value, ApiError> {
    let page = Page::from_query(ctx);
    let after = cursor_seq(ctx, tx, Sequenced::Offers)?;
    let filter = OfferFilter {
        status: ctx.query_str("status"),
        seller_node_id: ctx.query_str("seller_node_id"),
    };
    let offers = tx.offers_page(&filter, after, page.fetch())?;
    let (offers, next_cursor) = page.split(offers, |offer: &Offer| offer.offer_id.clone());
    respond(&OfferListResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        offers,
        next_cursor,
    })
}

fn update_offer(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Value, ApiError> {
    let caller = ctx.caller()?;
    let mut offer = stored_offer(ctx, tx)?;
    if offer.seller_node_id != caller.id && !is_operator(ctx) {
        return Err(ApiError::new(Reason::OfferNotOwned)
            .with("offer_id", &offer.offer_id)
            .with("seller_node_id", &offer.seller_node_id)
            .with("caller", caller));
    }
    let request: OfferUpdateRequest = ctx.body()?;
    let now = ctx.now();
    if let Some(status) = request.attestation_status {
        check_attestation(ctx, status)?;
        offer.attestation_status = status;
    }
    if let Some(next) = request.status {
        if !rules::offer_transition_allowed(offer.status, next) {
            return Err(transition_refused(offer.status.as_str(), next.as_str()));
        }
        if next == OfferStatus::Active && offer.status != OfferStatus::Active {
            refuse_duplicate(
                tx,
                &offer.seller_node_id,
                &offer.dataset_fingerprint,
                Some(&offer.offer_id),
            )?;
        }
        offer.status = next;
    }
    if let Some(price) = request.price_per_round {
        offer.price_per_round = money(price, Reason::InvalidPricePerRound, "/price_per_round")?;
    }
    if let Some(at) = &request.expires_at {
        offer.expires_at = Some(future_time(
            at,
            now,
            Reason::InvalidExpiresAt,
            "/expires_at",
        )?);
    }
    if let Some(title) = request.title {
        offer.title = title;
    }
    if let Some(description) = request.description {
        offer.description = description;
    }
    if let Some(modality) = request.modality {
        offer.modality = modality;
    }
    if let Some(label_schema) = request.label_schema {
        offer.label_schema = label_schema;
    }
    if let Some(privacy_profile) = request.privacy_profile {
        offer.privacy_profile = privacy_profile;
    }
    if let Some(sample_count) = request.sample_count {
        offer.sample_count = sample_count;
    }
    if let Some(quality) = request.quality_score {
        offer.quality_score = JsNumber(quality);
    }
    if let Some(tasks) = request.allowed_tasks {
        offer.allowed_tasks = tasks;
    }
    if let Some(min_rounds) = request.min_rounds {
        offer.min_rounds = min_rounds;
    }
    offer.updated_at = format_rfc3339_millis(now);
    tx.update_offer(&offer)?;
    respond(&OfferResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        offer,
    })
}

fn transition_refused(current: &str, next: &str) -> ApiError {
    ApiError::new(Reason::InvalidStatusTransition)
        .with("current_status", current)
        .with("next_status", next)
}

// ---------------------------------------------------------------------------------------------
// Round intents

fn create_intent(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Value, ApiError> {
    let caller = ctx.caller()?;
    let request: RoundIntentCreateRequest = ctx.body()?;
    if request.model_owner_id != caller.id && !is_operator(ctx) {
        return Err(ApiError::new(Reason::ModelOwnerMismatch)
            .with("field", "model_owner_id")
            .with("rule", "caller")
            .with("model_owner_id", &request.model_owner_id)
            .with("caller", caller));
    }
    if request
        .status
        .is_some_and(|status| status != RoundIntentStatus::Open)
    {
        return Err(field_error(
            Reason::InvalidStatus,
            "/status",
            "initial_status",
        ));
    }
    let now = ctx.now();
    let budget_total = money(
        request.budget_total,
        Reason::InvalidBudgetTotal,
        "/budget_total",
    )?;
    let deadline_ts = match &request.deadline_ts {
        Some(at) => future_time(at, now, Reason::InvalidDeadlineTs, "/deadline_ts")?,
        None => format_rfc3339_millis(now + DEFAULT_DEADLINE),
    };
    let (seq, intent_id) = next_id(tx, "data_round_intent", "intent")?;
    let stamp = format_rfc3339_millis(now);
    let intent = RoundIntent {
        intent_id,
        model_owner_id: request.model_owner_id,
        task_type: request.task_type,
        required_modalities: request.required_modalities.unwrap_or_default(),
        min_quality_score: JsNumber(request.min_quality_score.unwrap_or(0.0)),
        budget_total,
        deadline_ts,
        round_id: request.round_id,
        status: RoundIntentStatus::Open,
        contract_id: None,
        created_at: stamp.clone(),
        updated_at: stamp,
    };
    tx.insert_round_intent(&intent, seq)?;
    respond(&RoundIntentResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        intent,
    })
}

fn stored_intent(tx: &dyn Tx, intent_id: &str) -> Result<RoundIntent, ApiError> {
    tx.round_intent(intent_id)?.ok_or_else(|| {
        ApiError::new(Reason::RoundIntentNotFound).with("round_intent_id", intent_id)
    })
}

fn get_intent(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Value, ApiError> {
    let intent = stored_intent(tx, ctx.path_param("intent_id"))?;
    respond(&RoundIntentResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        intent,
    })
}

fn list_intents(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Value, ApiError> {
    let page = Page::from_query(ctx);
    let after = cursor_seq(ctx, tx, Sequenced::Intents)?;
    let filter = IntentFilter {
        status: ctx.query_str("status"),
        model_owner_id: ctx.query_str("model_owner_id"),
    };
    let intents = tx.round_intents_page(&filter, after, page.fetch())?;
    let (intents, next_cursor) =
        page.split(intents, |intent: &RoundIntent| intent.intent_id.clone());
    respond(&RoundIntentListResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        intents,
        next_cursor,
    })
}

fn update_intent(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Value, ApiError> {
    let caller = ctx.caller()?;
    let mut intent = stored_intent(tx, ctx.path_param("intent_id"))?;
    if intent.model_owner_id != caller.id && !is_operator(ctx) {
        return Err(ApiError::new(Reason::RoundIntentNotOwned)
            .with("round_intent_id", &intent.intent_id)
            .with("model_owner_id", &intent.model_owner_id)
            .with("caller", caller));
    }
    let request: RoundIntentUpdateRequest = ctx.body()?;
    let now = ctx.now();
    let edits_fields = request.task_type.is_some()
        || request.required_modalities.is_some()
        || request.min_quality_score.is_some()
        || request.budget_total.is_some()
        || request.deadline_ts.is_some()
        || request.round_id.is_some();
    if edits_fields && intent.status != RoundIntentStatus::Open {
        return Err(not_open(&intent));
    }
    if let Some(next) = request.status.filter(|next| *next != intent.status) {
        let released = match &intent.contract_id {
            Some(contract_id) => tx
                .contract(contract_id)?
                .is_some_and(|contract| contract.state == ContractState::EscrowReleased),
            None => false,
        };
        if !rules::intent_transition_allowed(intent.status, next, released) {
            return Err(transition_refused(intent.status.as_str(), next.as_str()));
        }
        intent.status = next;
    }
    if let Some(budget) = request.budget_total {
        intent.budget_total = money(budget, Reason::InvalidBudgetTotal, "/budget_total")?;
    }
    if let Some(at) = &request.deadline_ts {
        intent.deadline_ts = future_time(at, now, Reason::InvalidDeadlineTs, "/deadline_ts")?;
    }
    if let Some(task_type) = request.task_type {
        intent.task_type = task_type;
    }
    if let Some(modalities) = request.required_modalities {
        intent.required_modalities = modalities;
    }
    if let Some(min_quality) = request.min_quality_score {
        intent.min_quality_score = JsNumber(min_quality);
    }
    if let Some(round_id) = request.round_id {
        intent.round_id = Some(round_id);
    }
    intent.updated_at = format_rfc3339_millis(now);
    tx.update_round_intent(&intent)?;
    respond(&RoundIntentResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        intent,
    })
}

fn not_open(intent: &RoundIntent) -> ApiError {
    ApiError::new(Reason::RoundIntentNotOpen)
        .with("round_intent_id", &intent.intent_id)
        .with("status", intent.status.as_str())
}

// ---------------------------------------------------------------------------------------------
// Preview and match

fn policy_of(intent: &RoundIntent, max_offers: u32) -> Policy {
    Policy {
        task_type: intent.task_type.clone(),
        required_modalities: intent.required_modalities.clone(),
        min_quality_score: intent.min_quality_score.get(),
        budget_total: intent.budget_total,
        max_offers,
    }
}

fn effective_policy(policy: &Policy, now: OffsetDateTime) -> EffectivePolicy {
    EffectivePolicy {
        task_type: policy.task_type.clone(),
        required_modalities: policy.required_modalities.clone(),
        min_quality_score: JsNumber(policy.min_quality_score),
        budget_total: policy.budget_total,
        max_offers: policy.max_offers,
        evaluated_at: format_rfc3339_millis(now),
    }
}

fn run_selection(tx: &dyn Tx, policy: &Policy, now: OffsetDateTime) -> Result<Selection, ApiError> {
    let offers = tx.all_offers()?;
    let committed = tx.committed_offer_ids()?;
    Ok(rules::select(&offers, policy, now, &committed))
}

/// What matching would do, without changing anything.
fn preview(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Value, ApiError> {
    let request: PreviewRequest = ctx.body()?;
    let now = ctx.now();
    let max_offers = request.max_offers.unwrap_or(DEFAULT_MAX_OFFERS);
    let mut policy = match (&request.round_intent_id, &request.intent) {
        (Some(intent_id), None) => policy_of(&stored_intent(tx, intent_id)?, max_offers),
        (None, Some(draft)) => Policy {
            task_type: draft.task_type.clone(),
            required_modalities: draft.required_modalities.clone().unwrap_or_default(),
            min_quality_score: draft.min_quality_score.unwrap_or(0.0),
            budget_total: money(
                draft.budget_total,
                Reason::InvalidBudgetTotal,
                "/intent/budget_total",
            )?,
            max_offers,
        },
        (None, None) => return Err(field_error(Reason::IntentRequired, "/intent", "required")),
        (Some(_), Some(_)) => {
            return Err(field_error(
                Reason::IntentRequired,
                "/round_intent_id",
                "exactly_one",
            ));
        }
    };
    if let Some(overrides) = &request.policy_overrides {
        if let Some(budget) = overrides.budget_total {
            policy.budget_total = money(
                budget,
                Reason::InvalidBudgetTotal,
                "/policy_overrides/budget_total",
            )?;
        }
        if let Some(min_quality) = overrides.min_quality_score {
            policy.min_quality_score = min_quality;
        }
        if let Some(modalities) = &overrides.required_modalities {
            policy.required_modalities = modalities.clone();
        }
    }
    let selection = run_selection(tx, &policy, now)?;
    respond(&PreviewResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        preview: Preview {
            policy: effective_policy(&policy, now),
            selected_offers: selection.selected,
            agreed_price_per_round_total: selection.total,
            diagnostics: selection.diagnostics,
        },
    })
}

/// Matches an open intent into a contract: the contract and the intent's move to `matched`
/// happen in the request's one transaction, or not at all.
fn match_intent(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Value, ApiError> {
    let caller = ctx.caller()?;
    let request: MatchRequest = ctx.body()?;
    let now = ctx.now();
    let mut intent = stored_intent(tx, &request.round_intent_id)?;
    if intent.status != RoundIntentStatus::Open {
        return Err(not_open(&intent));
    }
    if parse_rfc3339(&intent.deadline_ts).is_some_and(|deadline| deadline <= now) {
        return Err(ApiError::new(Reason::RoundIntentDeadlinePassed)
            .with("round_intent_id", &intent.intent_id)
            .with("deadline_ts", &intent.deadline_ts));
    }
    let policy = policy_of(&intent, request.max_offers.unwrap_or(DEFAULT_MAX_OFFERS));
    let selection = run_selection(tx, &policy, now)?;
    if selection.selected.is_empty() {
        let diagnostics = &selection.diagnostics;
        return Err(ApiError::new(Reason::NoCompatibleOffersFound)
            .with("round_intent_id", &intent.intent_id)
            .with("offers_evaluated", diagnostics.offers_evaluated)
            .with("compatible_offers", diagnostics.compatible_offers)
            .with("budget_rejected", diagnostics.budget_rejected)
            .with("rejection_reasons", &diagnostics.rejection_reasons)
            .with("top_ranked_offers", &diagnostics.top_ranked_offers));
    }
    let (seq, contract_id) = next_id(tx, "data_contract", "contract")?;
    let stamp = format_rfc3339_millis(now);
    let offer_ids: Vec<&str> = selection
        .selected
        .iter()
        .map(|offer| offer.offer_id.as_str())
        .collect();
    let created = TimelineEvent {
        seq: 1,
        at: stamp.clone(),
        event: TimelineEventKind::ContractCreated,
        actor: caller.clone(),
        data: object(json!({
            "round_intent_id": intent.intent_id,
            "offer_ids": offer_ids,
            "agreed_price_per_round_total": selection.total,
        })),
    };
    let contract = Contract {
        contract_id,
        round_intent_id: intent.intent_id.clone(),
        round_id: intent.round_id.clone(),
        model_owner_id: intent.model_owner_id.clone(),
        offer_count: selection.selected.len() as u64,
        selected_offers: selection.selected,
        agreed_price_per_round_total: selection.total,
        state: ContractState::Created,
        escrow_status: EscrowStatus::Locked,
        payout_status: PayoutStatus::Pending,
        bound_round: None,
        payouts: Vec::new(),
        selection_diagnostics: selection.diagnostics,
        timeline: vec![created.clone()],
        created_at: stamp.clone(),
        updated_at: stamp.clone(),
        released_at: None,
    };
    tx.insert_contract(&contract, seq)?;
    tx.append_timeline(&contract.contract_id, &created)?;
    intent.status = RoundIntentStatus::Matched;
    intent.contract_id = Some(contract.contract_id.clone());
    intent.updated_at = stamp;
    tx.update_round_intent(&intent)?;
    respond(&ContractResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        contract,
    })
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

// ---------------------------------------------------------------------------------------------
// Contracts and escrow

fn stored_contract(tx: &dyn Tx, contract_id: &str) -> Result<Contract, ApiError> {
    tx.contract(contract_id)?
        .ok_or_else(|| ApiError::new(Reason::ContractNotFound).with("contract_id", contract_id))
}

fn get_contract(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Value, ApiError> {
    let contract = stored_contract(tx, ctx.path_param("contract_id"))?;
    respond(&ContractResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        contract,
    })
}

fn contract_timeline(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Value, ApiError> {
    let contract = stored_contract(tx, ctx.path_param("contract_id"))?;
    respond(&TimelineResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        contract_id: contract.contract_id,
        state: contract.state,
        timeline: contract.timeline,
    })
}

fn list_contracts(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Value, ApiError> {
    let page = Page::from_query(ctx);
    let after = cursor_seq(ctx, tx, Sequenced::Contracts)?;
    let filter = ContractFilter {
        state: ctx.query_str("state"),
        round_intent_id: ctx.query_str("round_intent_id"),
    };
    let contracts = tx.contracts_page(&filter, after, page.fetch())?;
    let (contracts, next_cursor) = page.split(contracts, |c: &Contract| c.contract_id.clone());
    respond(&ContractListResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        contracts,
        next_cursor,
    })
}

/// Appends the next timeline event and stamps the contract.
fn record(
    tx: &mut dyn Tx,
    contract: &mut Contract,
    at: &str,
    event: TimelineEventKind,
    actor: &ActorRef,
    data: Value,
) -> Result<(), ApiError> {
    let entry = TimelineEvent {
        seq: contract.timeline.len() as u64 + 1,
        at: at.to_owned(),
        event,
        actor: actor.clone(),
        data: object(data),
    };
    tx.append_timeline(&contract.contract_id, &entry)?;
    contract.timeline.push(entry);
    contract.updated_at = at.to_owned();
    tx.update_contract(contract)?;
    Ok(())
}

/// Releases a contract's escrow to its sellers once its training round has completed.
fn release_escrow(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Value, ApiError> {
    let caller = ctx.caller()?;
    let request: EscrowReleaseRequest = ctx.body()?;
    let mut contract = stored_contract(tx, &request.contract_id)?;
    if contract.state == ContractState::EscrowReleased {
        return Err(ApiError::new(Reason::ContractAlreadyReleased)
            .with("contract_id", &contract.contract_id)
            .with("payout_status", contract.payout_status));
    }
    let round_completed = match (&contract.state, &contract.bound_round) {
        (ContractState::BoundToRound, Some(round_id)) => tx.round(round_id)?.is_some(),
        _ => false,
    };
    if !round_completed {
        return Err(ApiError::new(Reason::ContractRoundNotCompleted)
            .with("contract_id", &contract.contract_id)
            .with("state", contract.state));
    }
    let stamp = now_text(ctx);
    // Sellers are paid in proportion to their prices, out of an escrow that is the sum of
    // those prices: each gets exactly its price, with no rounding left over.
    contract.payouts = contract
        .selected_offers
        .iter()
        .map(|offer| Payout {
            offer_id: offer.offer_id.clone(),
            seller_node_id: offer.seller_node_id.clone(),
            amount: offer.price_per_round,
        })
        .collect();
    contract.state = ContractState::EscrowReleased;
    contract.escrow_status = EscrowStatus::Released;
    contract.payout_status = PayoutStatus::Released;
    contract.released_at = Some(stamp.clone());
    let data =
        json!({"payout_total": contract.agreed_price_per_round_total, "payouts": contract.payouts});
    record(
        tx,
        &mut contract,
        &stamp,
        TimelineEventKind::EscrowReleased,
        caller,
        data,
    )?;
    respond(&ContractResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        contract,
    })
}

// ---------------------------------------------------------------------------------------------
// Training rounds

/// Starts and completes the next round: binds each waiting contract once, trains, averages.
fn create_round(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Value, ApiError> {
    let caller = ctx.caller()?;
    let request: TrainingRoundRequest = ctx.body()?;
    let contracts = match &request.contract_ids {
        Some(ids) => {
            let mut named = Vec::with_capacity(ids.len());
            for id in ids {
                let contract = stored_contract(tx, id)?;
                if contract.state != ContractState::Created {
                    return Err(ApiError::new(Reason::ContractAlreadyBound)
                        .with("contract_id", id)
                        .with("state", contract.state));
                }
                named.push(contract);
            }
            named
        }
        None => tx.contracts_in_state(ContractState::Created)?,
    };
    if contracts.is_empty() {
        return Err(ApiError::new(Reason::TrainingRoundNoContracts));
    }
    let (seq, round_id) = next_id(tx, "training_round", "round")?;
    let stamp = now_text(ctx);
    let specs: Vec<(&Contract, ShardSpec<'_>)> = contracts
        .iter()
        .flat_map(|contract| {
            contract.selected_offers.iter().map(move |offer| {
                (
                    contract,
                    ShardSpec {
                        dataset_fingerprint: &offer.dataset_fingerprint,
                        quality_score: offer.quality_score.get(),
                        sample_count: offer.sample_count,
                    },
                )
            })
        })
        .collect();
    let shards: Vec<ShardSpec<'_>> = specs.iter().map(|(_, spec)| spec.clone()).collect();
    let global = tx.model()?.unwrap_or_default();
    let outcome = training::run_round(&global, &shards);
    tx.put_model(&outcome.model)?;
    let offers = contracts.iter().flat_map(|contract| {
        contract
            .selected_offers
            .iter()
            .map(move |offer| (contract, offer))
    });
    let participants = offers
        .zip(&outcome.shares)
        .map(|((contract, offer), (samples, weight))| RoundParticipant {
            contract_id: contract.contract_id.clone(),
            offer_id: offer.offer_id.clone(),
            seller_node_id: offer.seller_node_id.clone(),
            dataset_fingerprint: offer.dataset_fingerprint.clone(),
            shard_samples: *samples,
            weight: JsNumber(round_to(*weight, 6)),
        })
        .collect();
    let round = TrainingRound {
        round_id: round_id.clone(),
        round_number: seq,
        bound_contract_ids: contracts.iter().map(|c| c.contract_id.clone()).collect(),
        participants,
        accuracy: JsNumber(round_to(outcome.accuracy, 6)),
        loss: JsNumber(round_to(outcome.loss, 6)),
        started_at: stamp.clone(),
        completed_at: stamp.clone(),
    };
    tx.insert_round(&round, seq)?;
    for mut contract in contracts {
        contract.state = ContractState::BoundToRound;
        contract.bound_round = Some(round_id.clone());
        let data = json!({"round_id": round_id, "accuracy": round.accuracy, "loss": round.loss});
        record(
            tx,
            &mut contract,
            &stamp,
            TimelineEventKind::BoundToRound,
            caller,
            data,
        )?;
    }
    respond(&TrainingRoundResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        round,
    })
}

fn get_round(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Value, ApiError> {
    let round_id = ctx.path_param("round_id");
    let round = tx
        .round(round_id)?
        .ok_or_else(|| ApiError::new(Reason::TrainingRoundNotFound).with("round_id", round_id))?;
    respond(&TrainingRoundResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        round,
    })
}

fn list_rounds(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Value, ApiError> {
    let page = Page::from_query(ctx);
    let before = cursor_seq(ctx, tx, Sequenced::Rounds)?;
    let rounds = tx.rounds_page(before, page.fetch())?;
    let (rounds, next_cursor) = page.split(rounds, |round: &TrainingRound| round.round_id.clone());
    respond(&TrainingRoundListResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        rounds,
        next_cursor,
    })
}

// ---------------------------------------------------------------------------------------------
// Status and metrics

fn training_status(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Value, ApiError> {
    let latest = tx.rounds_page(None, 1)?.pop();
    let pending = tx.pending_contracts()?;
    let oldest = pending.first();
    respond(&TrainingStatusResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        current_round: latest.as_ref().map(|round| round.round_id.clone()),
        rounds_completed: latest.as_ref().map_or(0, |round| round.round_number),
        last_round_metrics: latest.map(|round| RoundMetrics {
            round_id: round.round_id,
            accuracy: round.accuracy,
            loss: round.loss,
            completed_at: round.completed_at,
        }),
        marketplace_pending_contracts: PendingContracts {
            count: pending.len() as u64,
            oldest: oldest.map(|contract| PendingContractSummary {
                contract_id: contract.contract_id.clone(),
                round_id: contract.round_id.clone(),
                offer_count: contract.offer_count,
                agreed_price_per_round_total: contract.agreed_price_per_round_total,
            }),
            locked_escrow_total: pending.iter().map(|c| c.agreed_price_per_round_total).sum(),
        },
    })
}

/// The marketplace snapshot shared by `/metrics_summary` and `/metrics`.
fn snapshot(tx: &dyn Tx) -> Result<MarketplaceSnapshot, ApiError> {
    let counts = tx.data_market_counts()?;
    let attempts = tx.activity_of(MATCH_OPERATION)?;
    let mut rejection_reasons_total: BTreeMap<String, u64> = REJECTION_REASONS
        .iter()
        .map(|reason| ((*reason).to_owned(), 0))
        .collect();
    let mut add = |reasons: &Map<String, Value>| {
        for (reason, count) in reasons {
            *rejection_reasons_total.entry(reason.clone()).or_default() +=
                count.as_u64().unwrap_or(0);
        }
    };
    for attempt in &attempts {
        if let Some(Value::Object(reasons)) = attempt
            .event
            .details
            .as_ref()
            .and_then(|d| d.get("rejection_reasons"))
        {
            add(reasons);
        }
    }
    for contract in tx.contracts_page(&ContractFilter::default(), None, usize::MAX)? {
        let reasons = &contract.selection_diagnostics.rejection_reasons;
        add(&reasons
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(*v)))
            .collect());
    }
    Ok(MarketplaceSnapshot {
        offers_total: counts.offers_total,
        offers_active: counts.offers_active,
        open_intents: counts.open_intents,
        contracts_total: counts.contracts_created
            + counts.contracts_bound
            + counts.contracts_released,
        contracts_by_state: ContractsByState {
            created: counts.contracts_created,
            bound_to_round: counts.contracts_bound,
            escrow_released: counts.contracts_released,
        },
        locked_escrow_total: counts.locked_escrow_total,
        released_payout_total: counts.released_payout_total,
        match_attempts: attempts.len() as u64,
        match_failures: attempts.iter().filter(|a| a.event.status >= 400).count() as u64,
        rejection_reasons_total,
    })
}

fn metrics_summary(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Value, ApiError> {
    respond(&MetricsSummaryResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        marketplace: snapshot(tx)?,
        operations: tx.recent_activity(RECENT_OPERATIONS)?,
    })
}

/// The snapshot in the Prometheus text format (version 0.0.4).
fn prometheus(_ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Value, ApiError> {
    let s = snapshot(tx)?;
    let mut text = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(String, String)]| {
        text.push_str(&format!(
            "# HELP marketref_{name} {help}\n# TYPE marketref_{name} {kind}\n"
        ));
        for (labels, value) in samples {
            text.push_str(&format!("marketref_{name}{labels} {value}\n"));
        }
    };
    let plain = |value: u64| vec![(String::new(), value.to_string())];
    metric(
        "offers",
        "gauge",
        "Offers in the store.",
        &plain(s.offers_total),
    );
    metric(
        "offers_active",
        "gauge",
        "Active offers.",
        &plain(s.offers_active),
    );
    metric(
        "round_intents_open",
        "gauge",
        "Open round intents.",
        &plain(s.open_intents),
    );
    let by_state = &s.contracts_by_state;
    metric(
        "contracts",
        "gauge",
        "Contracts by state.",
        &[
            (
                "{state=\"created\"}".to_owned(),
                by_state.created.to_string(),
            ),
            (
                "{state=\"bound_to_round\"}".to_owned(),
                by_state.bound_to_round.to_string(),
            ),
            (
                "{state=\"escrow_released\"}".to_owned(),
                by_state.escrow_released.to_string(),
            ),
        ],
    );
    metric(
        "escrow_locked_usd",
        "gauge",
        "USD locked in escrow.",
        &[(String::new(), s.locked_escrow_total.to_number().to_string())],
    );
    metric(
        "payouts_released_usd",
        "gauge",
        "USD paid out to sellers.",
        &[(
            String::new(),
            s.released_payout_total.to_number().to_string(),
        )],
    );
    metric(
        "match_attempts_total",
        "counter",
        "Match calls.",
        &plain(s.match_attempts),
    );
    metric(
        "match_failures_total",
        "counter",
        "Match calls that created no contract.",
        &plain(s.match_failures),
    );
    let reasons: Vec<(String, String)> = s
        .rejection_reasons_total
        .iter()
        .map(|(reason, count)| (format!("{{reason=\"{reason}\"}}"), count.to_string()))
        .collect();
    metric(
        "rejection_reasons_total",
        "counter",
        "Offer eligibility failures over every match.",
        &reasons,
    );
    Ok(Value::String(text))
}
