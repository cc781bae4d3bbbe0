//! The reason-code registry.
//!
//! Every failure the runtime can answer is declared once, below: its stable `reason_code`, its
//! error class (which fixes the HTTP status and `error.code`), and its fixed message. Handlers
//! name a [`Reason`]; they never write a status or a message. `schemas/reason_codes.json` is
//! generated from this table and committed, so clients read the same registry.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The class of an error: the `error.code` of the envelope, and the HTTP status it implies.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorClass {
    Unauthorized,
    Forbidden,
    InsufficientScope,
    NotFound,
    MethodNotAllowed,
    Conflict,
    IdempotencyKeyReusePayloadMismatch,
    ConstraintViolation,
    SchemaInvalid,
    PayloadTooLarge,
    UnsupportedMediaType,
    RangeNotSatisfiable,
    Unprocessable,
    RateLimited,
    Internal,
}

impl ErrorClass {
    pub const ALL: &'static [ErrorClass] = &[
        ErrorClass::Unauthorized,
        ErrorClass::Forbidden,
        ErrorClass::InsufficientScope,
        ErrorClass::NotFound,
        ErrorClass::MethodNotAllowed,
        ErrorClass::Conflict,
        ErrorClass::IdempotencyKeyReusePayloadMismatch,
        ErrorClass::ConstraintViolation,
        ErrorClass::SchemaInvalid,
        ErrorClass::PayloadTooLarge,
        ErrorClass::UnsupportedMediaType,
        ErrorClass::RangeNotSatisfiable,
        ErrorClass::Unprocessable,
        ErrorClass::RateLimited,
        ErrorClass::Internal,
    ];

    /// The value of `error.code` in the envelope.
    pub const fn code(self) -> &'static str {
        match self {
            ErrorClass::Unauthorized => "UNAUTHORIZED",
            ErrorClass::Forbidden => "FORBIDDEN",
            ErrorClass::InsufficientScope => "INSUFFICIENT_SCOPE",
            ErrorClass::NotFound => "NOT_FOUND",
            ErrorClass::MethodNotAllowed => "METHOD_NOT_ALLOWED",
            ErrorClass::Conflict => "CONFLICT",
            ErrorClass::IdempotencyKeyReusePayloadMismatch => {
                "IDEMPOTENCY_KEY_REUSE_PAYLOAD_MISMATCH"
            }
            ErrorClass::ConstraintViolation => "CONSTRAINT_VIOLATION",
            ErrorClass::SchemaInvalid => "SCHEMA_INVALID",
            ErrorClass::PayloadTooLarge => "PAYLOAD_TOO_LARGE",
            ErrorClass::UnsupportedMediaType => "UNSUPPORTED_MEDIA_TYPE",
            ErrorClass::RangeNotSatisfiable => "RANGE_NOT_SATISFIABLE",
            ErrorClass::RateLimited => "RATE_LIMITED",
            ErrorClass::Unprocessable => "UNPROCESSABLE",
            ErrorClass::Internal => "INTERNAL",
        }
    }

    pub const fn status(self) -> u16 {
        match self {
            ErrorClass::Unauthorized => 401,
            ErrorClass::Forbidden | ErrorClass::InsufficientScope => 403,
            ErrorClass::NotFound => 404,
            ErrorClass::MethodNotAllowed => 405,
            ErrorClass::Conflict | ErrorClass::IdempotencyKeyReusePayloadMismatch => 409,
            ErrorClass::ConstraintViolation | ErrorClass::SchemaInvalid => 400,
            ErrorClass::PayloadTooLarge => 413,
            ErrorClass::UnsupportedMediaType => 415,
            ErrorClass::RangeNotSatisfiable => 416,
            ErrorClass::RateLimited => 429,
            ErrorClass::Unprocessable => 422,
            ErrorClass::Internal => 500,
        }
    }
}

/// Declares the registry: one line per reason, doc comment first (it becomes the description).
macro_rules! reasons {
    ($(
        $(#[doc = $doc:literal])+
        $variant:ident => ($code:literal, $class:ident, $message:literal),
    )+) => {
        /// A precise, stable reason for a failure: `error.details.reason_code`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Reason {
            $($(#[doc = $doc])+ $variant,)+
        }

        impl Reason {
            /// Every reason, in declaration order.
            pub const ALL: &'static [Reason] = &[$(Reason::$variant,)+];

            pub const fn code(self) -> &'static str {
                match self { $(Reason::$variant => $code,)+ }
            }

            pub const fn class(self) -> ErrorClass {
                match self { $(Reason::$variant => ErrorClass::$class,)+ }
            }

            /// The fixed message: a plain sentence with no ids or times in it.
            pub const fn message(self) -> &'static str {
                match self { $(Reason::$variant => $message,)+ }
            }

            /// What the reason means, for people reading the registry.
            pub fn description(self) -> String {
                let lines: &[&str] = match self { $(Reason::$variant => &[$($doc),+],)+ };
                lines.iter().map(|line| line.trim()).collect::<Vec<_>>().join(" ")
            }
        }
    };
}

reasons! {
    /// The caller sent no `x-actor-type` or no `x-actor-id` header.
    AuthIdentityMissing => ("auth_identity_missing", Unauthorized, "The request does not identify its caller."),
    /// `x-actor-type` is not one of `user`, `partner`, `agent`.
    AuthActorTypeUnknown => ("auth_actor_type_unknown", Forbidden, "The actor type is not recognised."),
    /// The caller's actor type is not in the operation's `allowed_actor_types`.
    AuthActorTypeNotAllowed => ("auth_actor_type_not_allowed", Forbidden, "This actor type may not call this operation."),
    /// The caller lacks one or more of the operation's `required_scopes`.
    AuthScopeMissing => ("auth_scope_missing", InsufficientScope, "The caller lacks a scope this operation requires."),
    /// An idempotent operation was called without an `Idempotency-Key` header.
    IdempotencyKeyRequired => ("idempotency_key_required", ConstraintViolation, "This operation requires an Idempotency-Key header."),
    /// The `Idempotency-Key` header is empty, longer than 255 characters, or not visible ASCII.
    IdempotencyKeyInvalid => ("idempotency_key_invalid", ConstraintViolation, "The Idempotency-Key header must be 1 to 255 visible ASCII characters."),
    /// The key was used before by the same caller and operation with a different request.
    IdempotencyKeyReusePayloadMismatch => ("idempotency_key_reuse_payload_mismatch", IdempotencyKeyReusePayloadMismatch, "This Idempotency-Key was already used with a different request."),
    /// The request body is larger than the runtime's limit (1 MiB).
    RequestBodyTooLarge => ("request_body_too_large", PayloadTooLarge, "The request body is too large."),
    /// A body was sent with a `content-type` other than JSON (`application/json` or a `+json` type).
    UnsupportedMediaType => ("unsupported_media_type", UnsupportedMediaType, "The request body must be JSON (content-type: application/json)."),
    /// An operation authenticated by a vendor key or a deployment token got no `Authorization: Bearer` header.
    AuthHeaderRequired => ("auth_header_required", Unauthorized, "This operation requires an Authorization: Bearer header."),
    /// The bearer token is not a marketref token (shape), or its checksum is wrong (a typo); nothing was looked up.
    TokenMalformed => ("token_malformed", Unauthorized, "The bearer token is malformed."),
    /// The token is unknown, expired or revoked: one reason, so that a caller cannot probe which.
    TokenInactive => ("token_inactive", Unauthorized, "The token is not active."),
    /// The token does not grant this operation: a scope is missing, or it is a token of the other kind.
    TokenScopeInsufficient => ("token_scope_insufficient", InsufficientScope, "The token does not grant this operation."),
    /// The principal sent more requests in the window than the operation's rate limit allows; `Retry-After` says when to try again.
    RateLimited => ("rate_limited", RateLimited, "Too many requests; retry after the time Retry-After gives."),
    /// `X-Marketplace-Contracts-Version` is present but not a semantic version (`1.2.3`).
    ContractsVersionInvalid => ("contracts_version_invalid", ConstraintViolation, "X-Marketplace-Contracts-Version must be a semantic version such as 1.0.0."),
    /// `X-Marketplace-Contracts-Version` names a major version this server does not speak.
    ContractsVersionUnsupported => ("contracts_version_unsupported", ConstraintViolation, "This server does not speak that major contracts version."),
    /// A `Range` header asks for bytes the file does not have.
    RangeNotSatisfiable => ("range_not_satisfiable", RangeNotSatisfiable, "The requested range is outside the file."),
    /// `Last-Event-ID` of a request for an event stream is not an event id (a non-negative integer).
    LastEventIdInvalid => ("last_event_id_invalid", ConstraintViolation, "The Last-Event-ID header must be the id of an event: a non-negative integer."),
    /// `x-now-iso` is present but is not an RFC 3339 date-time.
    RequestClockInvalid => ("request_clock_invalid", ConstraintViolation, "The x-now-iso header must be an RFC 3339 date-time."),
    /// A query parameter is unknown, malformed or out of range; `details` names it and the rule.
    QueryInvalid => ("query_invalid", ConstraintViolation, "A query parameter is invalid."),
    /// No operation is declared at this path.
    RouteNotFound => ("route_not_found", NotFound, "No operation exists at this path."),
    /// The path exists but not with this method; `details.allowed_methods` lists the others.
    MethodNotAllowed => ("method_not_allowed", MethodNotAllowed, "This path does not accept this method."),
    /// A bug in the runtime. Never part of a contract; the details are in the server log.
    InternalError => ("internal_error", Internal, "The server failed to handle the request."),
    /// The swap intent request breaks the schema or a rule of the intent; `details.errors` lists each failure.
    SwapIntentInvalid => ("swap_intent_invalid", SchemaInvalid, "The swap intent request is invalid."),
    /// An intent with this id already exists.
    SwapIntentAlreadyExists => ("swap_intent_already_exists", Conflict, "A swap intent with this id already exists."),
    /// No intent with this id is visible to the caller.
    SwapIntentNotFound => ("swap_intent_not_found", NotFound, "The swap intent was not found."),
    /// A user tried to create an intent for another actor.
    SwapIntentActorMismatch => ("swap_intent_actor_mismatch", Forbidden, "A user may create swap intents only for itself."),
    /// The intent is already cancelled.
    SwapIntentAlreadyCancelled => ("swap_intent_already_cancelled", Conflict, "The swap intent is already cancelled."),
    /// No cycle proposal with this id is visible to the caller.
    CycleProposalNotFound => ("cycle_proposal_not_found", NotFound, "The cycle proposal was not found."),
    /// The matching run body is not JSON, not an object, or breaks a field rule; `details.errors` lists each failure.
    MarketplaceMatchingInvalidRequest => ("marketplace_matching_invalid_request", ConstraintViolation, "The matching run request is invalid."),
    /// Stored, derived and requested asset values are all empty, so nothing can be priced.
    MarketplaceMatchingAssetValuesMissing => ("marketplace_matching_asset_values_missing", ConstraintViolation, "No asset values are known, so no intent can be priced."),
    /// No matching run with this id exists.
    MarketplaceMatchingRunNotFound => ("marketplace_matching_run_not_found", NotFound, "The matching run was not found."),
    /// The body of a data- or ML-marketplace request is not JSON, breaks its schema (an unknown field, a value out of range), or names a key twice; `details.field` and `details.rule` say where and what.
    RequestBodyMalformed => ("request_body_malformed", ConstraintViolation, "The request body is malformed."),
    /// `seller_node_id` is missing or empty.
    SellerNodeIdRequired => ("seller_node_id_required", ConstraintViolation, "seller_node_id is required."),
    /// `dataset_fingerprint` is missing or empty.
    DatasetFingerprintRequired => ("dataset_fingerprint_required", ConstraintViolation, "dataset_fingerprint is required as <algorithm>:<hex digest>."),
    /// `dataset_fingerprint` is present but not `<algorithm>:<hex digest>`.
    DatasetFingerprintInvalid => ("dataset_fingerprint_invalid", ConstraintViolation, "dataset_fingerprint must be <algorithm>:<hex digest>, for example sha256:9f86d081."),
    /// `title` is not 1 to 120 characters.
    InvalidTitle => ("invalid_title", ConstraintViolation, "title must be 1 to 120 characters."),
    /// `description` is longer than 2000 characters.
    InvalidDescription => ("invalid_description", ConstraintViolation, "description must be at most 2000 characters."),
    /// `modality` is missing or not one of image, tabular, text, audio, timeseries.
    InvalidModality => ("invalid_modality", ConstraintViolation, "modality must be one of image, tabular, text, audio, timeseries."),
    /// `label_schema` is not a non-empty string.
    InvalidLabelSchema => ("invalid_label_schema", ConstraintViolation, "label_schema must be a non-empty string."),
    /// `privacy_profile` is not a non-empty string.
    InvalidPrivacyProfile => ("invalid_privacy_profile", ConstraintViolation, "privacy_profile must be a non-empty string."),
    /// `sample_count` is not an integer >= 0.
    InvalidSampleCount => ("invalid_sample_count", ConstraintViolation, "sample_count must be an integer of at least 0."),
    /// `quality_score` is missing, not a finite number, or outside [0, 1].
    InvalidQualityScore => ("invalid_quality_score", ConstraintViolation, "quality_score must be a number from 0 to 1."),
    /// `allowed_tasks` is not a list of distinct non-empty task names.
    InvalidAllowedTasks => ("invalid_allowed_tasks", ConstraintViolation, "allowed_tasks must be a list of distinct non-empty task names."),
    /// `attestation_status` is not one of unknown, pending, verified.
    InvalidAttestationStatus => ("invalid_attestation_status", ConstraintViolation, "attestation_status must be one of unknown, pending, verified."),
    /// `price_per_round` is missing, not a finite number >= 0, or has more than 6 decimals.
    InvalidPricePerRound => ("invalid_price_per_round", ConstraintViolation, "price_per_round must be a number of at least 0 with at most 6 decimals."),
    /// `min_rounds` is not an integer >= 1.
    InvalidMinRounds => ("invalid_min_rounds", ConstraintViolation, "min_rounds must be an integer of at least 1."),
    /// `expires_at` is not an RFC 3339 date-time or Unix seconds, or is not in the future.
    InvalidExpiresAt => ("invalid_expires_at", ConstraintViolation, "expires_at must be a future RFC 3339 date-time or Unix seconds."),
    /// `status` is not a status of the object, or not one it may be created with.
    InvalidStatus => ("invalid_status", ConstraintViolation, "status is not a valid status here."),
    /// `model_owner_id` is missing or empty.
    ModelOwnerIdRequired => ("model_owner_id_required", ConstraintViolation, "model_owner_id is required."),
    /// `task_type` is missing or empty.
    TaskTypeRequired => ("task_type_required", ConstraintViolation, "task_type is required."),
    /// `budget_total` is missing, not a number > 0, or has more than 6 decimals; 0 never means unlimited.
    InvalidBudgetTotal => ("invalid_budget_total", ConstraintViolation, "budget_total must be a number greater than 0 with at most 6 decimals."),
    /// `min_quality_score` is not a finite number in [0, 1].
    InvalidMinQualityScore => ("invalid_min_quality_score", ConstraintViolation, "min_quality_score must be a number from 0 to 1."),
    /// `required_modalities` is not a list of distinct modalities.
    InvalidRequiredModalities => ("invalid_required_modalities", ConstraintViolation, "required_modalities must be a list of distinct modalities."),
    /// `deadline_ts` is not an RFC 3339 date-time or Unix seconds, or is not in the future.
    InvalidDeadlineTs => ("invalid_deadline_ts", ConstraintViolation, "deadline_ts must be a future RFC 3339 date-time or Unix seconds."),
    /// `round_id` is not 1 to 120 characters.
    InvalidRoundId => ("invalid_round_id", ConstraintViolation, "round_id must be 1 to 120 characters."),
    /// `round_intent_id` is missing or empty.
    RoundIntentIdRequired => ("round_intent_id_required", ConstraintViolation, "round_intent_id is required."),
    /// `max_offers` is not an integer from 1 to 25.
    InvalidMaxOffers => ("invalid_max_offers", ConstraintViolation, "max_offers must be an integer from 1 to 25."),
    /// A preview names neither an existing intent (`round_intent_id`) nor an inline `intent`, or names both.
    IntentRequired => ("intent_required", ConstraintViolation, "Give exactly one of round_intent_id and intent."),
    /// `contract_id` is missing or empty.
    ContractIdRequired => ("contract_id_required", ConstraintViolation, "contract_id is required."),
    /// `contract_ids` is not a non-empty list of distinct contract ids.
    InvalidContractIds => ("invalid_contract_ids", ConstraintViolation, "contract_ids must be a non-empty list of distinct contract ids."),
    /// A provider named another node as seller; only an operator may list for another node.
    SellerNodeMismatch => ("seller_node_mismatch", Forbidden, "seller_node_id must be the caller unless the caller operates the marketplace."),
    /// A model owner named another owner; only an operator may act for another owner.
    ModelOwnerMismatch => ("model_owner_mismatch", Forbidden, "model_owner_id must be the caller unless the caller operates the marketplace."),
    /// A provider tried to change an offer of another provider.
    OfferNotOwned => ("offer_not_owned", Forbidden, "Only the offer's provider or an operator may change it."),
    /// A model owner tried to change an intent of another owner.
    RoundIntentNotOwned => ("round_intent_not_owned", Forbidden, "Only the intent's model owner or an operator may change it."),
    /// A caller without `marketplace:operate` tried to set `attestation_status` to verified.
    AttestationRequiresOperator => ("attestation_requires_operator", Forbidden, "Only an operator may mark an offer verified."),
    /// No offer with this id exists.
    OfferNotFound => ("offer_not_found", NotFound, "The offer was not found."),
    /// No round intent with this id exists.
    RoundIntentNotFound => ("round_intent_not_found", NotFound, "The round intent was not found."),
    /// No contract with this id exists.
    ContractNotFound => ("contract_not_found", NotFound, "The contract was not found."),
    /// No training round with this id exists.
    TrainingRoundNotFound => ("training_round_not_found", NotFound, "The training round was not found."),
    /// The status change is not allowed from the current status; `details` has both.
    InvalidStatusTransition => ("invalid_status_transition", Conflict, "This status change is not allowed."),
    /// The intent is not open, so it cannot be matched or edited.
    RoundIntentNotOpen => ("round_intent_not_open", Conflict, "The round intent is not open."),
    /// The intent's deadline has passed, so it cannot match.
    RoundIntentDeadlinePassed => ("round_intent_deadline_passed", Conflict, "The round intent's deadline has passed."),
    /// The contract's escrow was already released.
    ContractAlreadyReleased => ("contract_already_released", Conflict, "The contract's escrow was already released."),
    /// The contract is not bound to a completed training round yet.
    ContractRoundNotCompleted => ("contract_round_not_completed", Conflict, "The contract's training round has not completed."),
    /// A named contract is not waiting for a round (it is already bound or released).
    ContractAlreadyBound => ("contract_already_bound", Conflict, "The contract is already bound to a training round."),
    /// The provider already has an active offer with this dataset fingerprint.
    DuplicateActiveOffer => ("duplicate_active_offer", Conflict, "This provider already has an active offer for this dataset."),
    /// A training round was asked for while no contract waits for one.
    TrainingRoundNoContracts => ("training_round_no_contracts", Conflict, "No contract is waiting for a training round."),
    /// Matching found no offer to select; `details` holds the diagnostics.
    NoCompatibleOffersFound => ("no_compatible_offers_found", Unprocessable, "No compatible offer was found for the round intent."),
    /// A resource of another vendor (a key, a model, a deployment).
    VendorMismatch => ("vendor_mismatch", Forbidden, "This resource belongs to another vendor."),
    /// A deployment token named another deployment than its own.
    DeploymentMismatch => ("deployment_mismatch", Forbidden, "The deployment is not the one the token writes for."),
    /// A signal or consensus body named a vendor or deployment other than the token's; nothing was stored.
    AttributionMismatch => ("attribution_mismatch", Forbidden, "Writes are attributed to the token's vendor and deployment; the body names others."),
    /// No key with this id.
    KeyNotFound => ("key_not_found", NotFound, "The key was not found."),
    /// No dataset round with this id (or no current round).
    RoundNotFound => ("round_not_found", NotFound, "The dataset round was not found."),
    /// A round with this id exists already.
    RoundExists => ("round_exists", Conflict, "A dataset round with this id already exists."),
    /// A dataset URL whose signature is not this server's, whose path or expiry was changed, or that expired.
    SignedUrlInvalid => ("signed_url_invalid", Forbidden, "The signed URL is expired, altered, or not from this server; ask for new ones."),
    /// The round has no file of this name.
    DatasetFileNotFound => ("dataset_file_not_found", NotFound, "The dataset round has no such file."),
    /// No model with this id.
    ModelNotFound => ("model_not_found", NotFound, "The model was not found."),
    /// No version with this id on this model.
    VersionNotFound => ("version_not_found", NotFound, "The model version was not found."),
    /// The model has a version of this name already.
    VersionExists => ("version_exists", Conflict, "The model already has a version of this name."),
    /// The stage move is not in the stage table; `details` has both stages and the allowed moves.
    InvalidStageTransition => ("invalid_stage_transition", Conflict, "This stage change is not allowed."),
    /// A retired version cannot be deployed.
    VersionRetired => ("version_retired", Conflict, "The model version is retired."),
    /// No deployment with this id.
    DeploymentNotFound => ("deployment_not_found", NotFound, "The deployment was not found."),
    /// No consensus was written and no signal gives one for this symbol and timeframe.
    ConsensusNotFound => ("consensus_not_found", NotFound, "No consensus is known for this symbol and timeframe."),
    /// No training run with this id among the caller's.
    TrainingRunNotFound => ("training_run_not_found", NotFound, "The training run was not found."),
    /// A training spec the server cannot run; `details` has the `field` (a JSON pointer) and the `rule`.
    TrainingSpecInvalid => ("training_spec_invalid", Unprocessable, "The training spec cannot be run as given; see details.field and details.rule."),
    /// The spec names a provider this server has no account with.
    ProviderNotConfigured => ("provider_not_configured", Unprocessable, "This training provider is not configured on this server."),
    /// Cancel of a run that has finished.
    TrainingRunNotCancellable => ("training_run_not_cancellable", Conflict, "The training run has finished; only a queued or running run can be cancelled."),
    /// Results reported for a run the platform trains.
    TrainingRunNotByoc => ("training_run_not_byoc", Conflict, "Only a byoc run takes reported results."),
    /// Results reported for a byoc run that is no longer running.
    TrainingRunNotRunning => ("training_run_not_running", Conflict, "The training run is not running: its results are in, or it was cancelled."),
    /// A version registered from a run that has not succeeded.
    TrainingRunNotSucceeded => ("training_run_not_succeeded", Conflict, "A version is registered only from a succeeded training run."),
    /// A version registered from a run trained for another task than the model's.
    TrainingRunTaskMismatch => ("training_run_task_mismatch", Conflict, "The training run was for another task than the model's."),
    /// The dev fixture document breaks its schema; `details.errors` lists each failure.
    DevFixturesInvalid => ("dev_fixtures_invalid", SchemaInvalid, "The fixture document is invalid."),
}

impl Reason {
    pub fn from_code(code: &str) -> Option<Reason> {
        Reason::ALL
            .iter()
            .copied()
            .find(|reason| reason.code() == code)
    }

    pub const fn status(self) -> u16 {
        self.class().status()
    }
}

impl Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Reason {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Reason::from_code(&code)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown reason code `{code}`")))
    }
}

impl JsonSchema for Reason {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ReasonCode".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let codes: Vec<&str> = Reason::ALL.iter().map(|reason| reason.code()).collect();
        schemars::json_schema!({ "type": "string", "enum": codes })
    }
}

/// The registry as clients read it: `schemas/reason_codes.json`.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonRegistry {
    pub classes: Vec<ClassEntry>,
    pub reason_codes: Vec<ReasonEntry>,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassEntry {
    pub code: ErrorClass,
    pub status: u16,
}

#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReasonEntry {
    pub code: Reason,
    pub class: ErrorClass,
    pub status: u16,
    pub message: String,
    pub description: String,
}

impl ReasonRegistry {
    /// The registry, reasons sorted by code so that the file diffs cleanly.
    pub fn current() -> ReasonRegistry {
        let mut reason_codes: Vec<ReasonEntry> = Reason::ALL
            .iter()
            .map(|&reason| ReasonEntry {
                code: reason,
                class: reason.class(),
                status: reason.status(),
                message: reason.message().to_owned(),
                description: reason.description(),
            })
            .collect();
        reason_codes.sort_by_key(|entry| entry.code.code());
        ReasonRegistry {
            classes: ErrorClass::ALL
                .iter()
                .map(|&class| ClassEntry {
                    code: class,
                    status: class.status(),
                })
                .collect(),
            reason_codes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn codes_are_unique_snake_case_and_messages_have_no_placeholders() {
        let mut seen = BTreeSet::new();
        for reason in Reason::ALL {
            let code = reason.code();
            assert!(seen.insert(code), "duplicate reason code {code}");
            assert!(
                code.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{code} is not snake_case"
            );
            let message = reason.message();
            assert!(message.ends_with('.'), "{code}: message is not a sentence");
            assert!(!message.contains('{'), "{code}: message has a placeholder");
            assert!(!reason.description().is_empty());
            assert_eq!(Reason::from_code(code), Some(*reason));
        }
    }

    #[test]
    fn spec_statuses_per_class() {
        assert_eq!(Reason::AuthIdentityMissing.status(), 401);
        assert_eq!(
            Reason::AuthScopeMissing.class().code(),
            "INSUFFICIENT_SCOPE"
        );
        assert_eq!(Reason::IdempotencyKeyReusePayloadMismatch.status(), 409);
        assert_eq!(Reason::MarketplaceMatchingInvalidRequest.status(), 400);
        assert_eq!(Reason::MarketplaceMatchingRunNotFound.status(), 404);
        assert_eq!(Reason::RequestBodyTooLarge.status(), 413);
    }
}
