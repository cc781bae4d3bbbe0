//! The ML marketplace's types as they cross the wire (spec `ml-marketplace.md`). Requests are
//! closed objects; responses send `null` for what is not known, never leave a key out.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::contracts::schemas::{Direction, NamedSchema, generate, generate_sending_null};

mod deployments;
mod enums;
mod model_server;
mod models;
mod rounds;
mod signals;
mod training;
mod vendors;

pub use deployments::*;
pub use enums::*;
pub use model_server::*;
pub use models::*;
pub use rounds::*;
pub use signals::*;
pub use training::*;
pub use vendors::*;

/// One page of a list: `data: {items, next_cursor}`.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "{T}List")]
pub struct List<T> {
    pub items: Vec<T>,
    /// The `cursor` of the next page; `null` on the last.
    pub next_cursor: Option<String>,
}

/// The schemas of the ML marketplace's operations.
pub fn schemas() -> Vec<NamedSchema> {
    use Direction::Request;
    vec![
        generate::<VendorCreateRequest>(Request),
        generate::<KeyCreateRequest>(Request),
        generate::<IntrospectRequest>(Request),
        generate::<RoundCreateRequest>(Request),
        generate::<SignedUrlsRequest>(Request),
        generate::<ModelCreateRequest>(Request),
        generate::<VersionCreateRequest>(Request),
        generate::<StageRequest>(Request),
        generate::<DeploymentCreateRequest>(Request),
        generate::<TokenRotateRequest>(Request),
        generate::<HeartbeatRequest>(Request),
        generate::<SignalBatch>(Request),
        generate::<ConsensusWrite>(Request),
        generate::<TrainingSpec>(Request),
        generate::<TrainingResults>(Request),
        generate::<SignalInferenceRequest>(Request),
        // What a vendor's model server sends: checked by `mp validate`, never sent by us.
        generate::<SignalInferenceResponse>(Direction::Response),
        generate::<ModelServerHealth>(Direction::Response),
        generate::<ModelServerReady>(Direction::Response),
        generate_sending_null::<VendorCreated>(),
        generate_sending_null::<Vendor>(),
        generate_sending_null::<List<Vendor>>(),
        generate_sending_null::<VendorMe>(),
        generate_sending_null::<KeyIssued>(),
        generate_sending_null::<List<KeySummary>>(),
        generate_sending_null::<KeyRevoked>(),
        generate_sending_null::<Introspection>(),
        generate_sending_null::<DatasetRound>(),
        generate_sending_null::<List<DatasetRound>>(),
        generate_sending_null::<SignedUrls>(),
        generate_sending_null::<DatasetFile>(),
        generate_sending_null::<ModelCreated>(),
        generate_sending_null::<Model>(),
        generate_sending_null::<List<Model>>(),
        generate_sending_null::<ModelVersion>(),
        generate_sending_null::<DeploymentCreated>(),
        generate_sending_null::<List<Deployment>>(),
        generate_sending_null::<TokenIssued>(),
        generate_sending_null::<HeartbeatRecorded>(),
        generate_sending_null::<SignalsStored>(),
        generate_sending_null::<List<Signal>>(),
        generate_sending_null::<Consensus>(),
        generate_sending_null::<List<CatalogEntry>>(),
        generate_sending_null::<TrainingRun>(),
        generate_sending_null::<List<TrainingRun>>(),
        generate_sending_null::<TrainingLog>(),
        generate_sending_null::<ModelArtifact>(),
    ]
}
