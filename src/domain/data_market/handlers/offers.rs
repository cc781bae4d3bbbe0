//! Offers: a provider lists a dataset for training rounds (spec section 2).

use crate::api::{OpContext, Page, Reply, respond};
use crate::clock::format_rfc3339_millis;
use crate::error::ApiError;
use crate::json::JsNumber;
use crate::reason::Reason;
use crate::store::{StoreError, Tx};

use super::super::rules;
use super::super::store::{self, DataMarketStore, OfferFilter, Sequenced};
use super::super::types::{
    AttestationStatus, Offer, OfferCreateRequest, OfferListResponse, OfferResponse, OfferStatus,
    OfferUpdateRequest,
};
use super::{cursor_seq, future_time, is_operator, money, next_id, transition_refused};

const DEFAULT_TITLE: &str = "Untitled Offer";

pub(super) fn create(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let caller = ctx.caller()?;
    let request: OfferCreateRequest = ctx.body()?;
    let now = ctx.now();
    if request.seller_node_id != caller.id && !is_operator(ctx)? {
        return Err(ApiError::new(Reason::SellerNodeMismatch)
            .with("field", "seller_node_id")
            .with("rule", "caller")
            .with("seller_node_id", &request.seller_node_id)
            .with("caller", caller));
    }
    let attestation = request
        .attestation_status
        .unwrap_or(AttestationStatus::Unknown);
    check_attestation(ctx, attestation)?;
    let price_per_round = money(ctx, request.price_per_round, "/price_per_round")?;
    let expires_at = request
        .expires_at
        .as_ref()
        .map(|at| future_time(ctx, at, now, "/expires_at"))
        .transpose()?;
    let status = request.status.unwrap_or(OfferStatus::Active);
    if status == OfferStatus::Retired {
        return Err(ctx.field_error("/status", "initial_status"));
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
    tx.insert_offer(&offer, seq)
        .map_err(|error| duplicate_refused_by_store(error, &offer))?;
    respond(&OfferResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        offer,
    })
}

fn check_attestation(ctx: &OpContext<'_>, status: AttestationStatus) -> Result<(), ApiError> {
    if status == AttestationStatus::Verified && !is_operator(ctx)? {
        return Err(ApiError::new(Reason::AttestationRequiresOperator)
            .with("field", "attestation_status")
            .with("rule", "operator_only"));
    }
    Ok(())
}

fn refuse_duplicate(
    tx: &dyn DataMarketStore,
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

/// The database's own refusal of a second active offer (a concurrent request passed the check
/// above first): the same reason.
fn duplicate_refused_by_store(error: StoreError, offer: &Offer) -> ApiError {
    if error.is_conflict() {
        ApiError::new(Reason::DuplicateActiveOffer)
            .with("seller_node_id", &offer.seller_node_id)
            .with("dataset_fingerprint", &offer.dataset_fingerprint)
    } else {
        error.into()
    }
}

fn stored_offer(ctx: &OpContext<'_>, tx: &dyn DataMarketStore) -> Result<Offer, ApiError> {
    let offer_id = ctx.path_param("offer_id");
    tx.offer(offer_id)?
        .ok_or_else(|| ApiError::new(Reason::OfferNotFound).with("offer_id", offer_id))
}

pub(super) fn get(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let offer = stored_offer(ctx, tx)?;
    respond(&OfferResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        offer,
    })
}

pub(super) fn list(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
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

pub(super) fn update(ctx: &OpContext<'_>, tx: &mut dyn Tx) -> Result<Reply, ApiError> {
    let tx = store::of(tx)?;
    let caller = ctx.caller()?;
    let mut offer = stored_offer(ctx, tx)?;
    if offer.seller_node_id != caller.id && !is_operator(ctx)? {
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
        offer.price_per_round = money(ctx, price, "/price_per_round")?;
    }
    if let Some(at) = &request.expires_at {
        offer.expires_at = Some(future_time(ctx, at, now, "/expires_at")?);
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
    tx.update_offer(&offer)
        .map_err(|error| duplicate_refused_by_store(error, &offer))?;
    respond(&OfferResponse {
        correlation_id: ctx.correlation_id.to_owned(),
        offer,
    })
}
