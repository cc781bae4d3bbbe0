//! Offers, round intents, contracts, training rounds and the marketplace summaries as they cross
//! the wire (spec `data-marketplace.md`). Requests are closed objects; every field rule here is
//! also a field-guidance rule (the manifest maps each field to its reason code).

use crate::contracts::schemas::{Direction, NamedSchema, generate};

mod contracts;
mod intents;
mod matching;
mod offers;
mod rounds;
mod status;

pub use contracts::*;
pub use intents::*;
pub use matching::*;
pub use offers::*;
pub use rounds::*;
pub use status::*;

/// The schemas of the data-marketplace operations.
pub fn schemas() -> Vec<NamedSchema> {
    use Direction::{Request, Response};
    vec![
        generate::<OfferCreateRequest>(Request),
        generate::<OfferUpdateRequest>(Request),
        generate::<RoundIntentCreateRequest>(Request),
        generate::<RoundIntentUpdateRequest>(Request),
        generate::<MatchRequest>(Request),
        generate::<PreviewRequest>(Request),
        generate::<EscrowReleaseRequest>(Request),
        generate::<TrainingRoundRequest>(Request),
        generate::<OfferResponse>(Response),
        generate::<OfferListResponse>(Response),
        generate::<RoundIntentResponse>(Response),
        generate::<RoundIntentListResponse>(Response),
        generate::<PreviewResponse>(Response),
        generate::<ContractResponse>(Response),
        generate::<ContractListResponse>(Response),
        generate::<TimelineResponse>(Response),
        generate::<TrainingRoundResponse>(Response),
        generate::<TrainingRoundListResponse>(Response),
        generate::<TrainingStatusResponse>(Response),
        generate::<MetricsSummaryResponse>(Response),
        generate::<PrometheusText>(Response),
    ]
}
