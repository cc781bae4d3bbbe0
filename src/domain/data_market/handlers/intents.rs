//! Round intents: a model owner asks for one training round (spec section 3).

use crate::api::{OpContext, Page, Reply, respond};
use crate::clock::format_rfc3339_millis;
use crate::error::ApiError;
use crate::json::JsNumber;
use crate::reason::Reason;
use crate::store::Tx;

use super::super::rules;
use super::super::store::{self, DataMarketStore, IntentFilter, Sequenced};
use super::super::types::{
    RoundIntent, RoundIntentCreateRequest, RoundIntentListResponse, RoundIntentResponse,
    RoundIntentStatus, RoundIntentUpdateRequest,
};
use super::{cursor_seq, future_time, is_operator, money, next_id, transition_refused};

const DEFAULT_DEADLINE: time::Duration = time::Duration::hours(1);

pub(super) fn create(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let caller = ctx.caller()?;
    let request: RoundIntentCreateRequest = ctx.body()?;
    if request.model_owner_id != caller.id && !is_operator(ctx)? {
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
        return Err(ctx.field_error("/status", "initial_status"));
    }
    let now = ctx.now();
    let budget_total = money(ctx, request.budget_total, "/budget_total")?;
    let deadline_ts = match &request.deadline_ts {
        Some(at) => future_time(ctx, at, now, "/deadline_ts")?,
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

pub(super) fn stored_intent(
    tx: &dyn DataMarketStore,
    intent_id: &str,
) -> Result<RoundIntent, ApiError> {
    tx.round_intent(intent_id)?.ok_or_else(|| {
        ApiError::new(Reason::RoundIntentNotFound).with("round_intent_id", intent_id)
    })
}

pub(super) fn get(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let intent = stored_intent(tx, ctx.path_param("intent_id"))?;
    respond(&RoundIntentResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        intent,
    })
}

pub(super) fn list(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
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

pub(super) fn update(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let caller = ctx.caller()?;
    let mut intent = stored_intent(tx, ctx.path_param("intent_id"))?;
    if intent.model_owner_id != caller.id && !is_operator(ctx)? {
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
                .is_some_and(|contract| rules::contract_released(contract.state)),
            None => false,
        };
        if !rules::intent_transition_allowed(intent.status, next, released) {
            return Err(transition_refused(intent.status.as_str(), next.as_str()));
        }
        intent.status = next;
    }
    if let Some(budget) = request.budget_total {
        intent.budget_total = money(ctx, budget, "/budget_total")?;
    }
    if let Some(at) = &request.deadline_ts {
        intent.deadline_ts = future_time(ctx, at, now, "/deadline_ts")?;
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

pub(super) fn not_open(intent: &RoundIntent) -> ApiError {
    ApiError::new(Reason::RoundIntentNotOpen)
        .with("round_intent_id", &intent.intent_id)
        .with("status", intent.status.as_str())
}
