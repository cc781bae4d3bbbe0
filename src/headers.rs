//! The header names of the contract, once. The pipeline reads and writes them; the OpenAPI
//! document, the verifier and the benchmarks import them from here rather than spelling them
//! again.

/// The caller's actor type (`user`, `partner`, `agent`), set by the trusted gateway.
pub const ACTOR_TYPE: &str = "x-actor-type";
/// The caller's id, set by the trusted gateway.
pub const ACTOR_ID: &str = "x-actor-id";
/// The scopes the caller holds, separated by commas or white space.
pub const AUTH_SCOPES: &str = "x-auth-scopes";
/// The key of an idempotent write (1 to 255 visible ASCII characters).
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Set to `true` on an answer replayed from its idempotency record.
pub const IDEMPOTENT_REPLAYED: &str = "idempotent-replayed";
/// The request's correlation id: taken from the client when usable, echoed on every answer.
pub const CORRELATION_ID: &str = "x-correlation-id";
/// The request clock (RFC 3339), used instead of the server clock.
pub const REQUEST_CLOCK: &str = "x-now-iso";

/// The identity headers the trusted gateway sets, in the order a 401 names them.
pub const IDENTITY: [&str; 2] = [ACTOR_TYPE, ACTOR_ID];

/// A vendor key or a deployment token: `Authorization: Bearer <token>`.
pub const AUTHORIZATION: &str = "authorization";
/// The contracts version a client speaks, and the server's on every answer of an operation
/// with the `data` envelope.
pub const CONTRACTS_VERSION: &str = "x-marketplace-contracts-version";
/// The rate-limit headers of spec `ml-marketplace.md` section 7, and the `X-` twins older
/// clients read.
pub const RATE_LIMIT_LIMIT: &str = "ratelimit-limit";
pub const RATE_LIMIT_REMAINING: &str = "ratelimit-remaining";
pub const RATE_LIMIT_RESET: &str = "ratelimit-reset";
pub const X_RATE_LIMIT_LIMIT: &str = "x-ratelimit-limit";
pub const X_RATE_LIMIT_REMAINING: &str = "x-ratelimit-remaining";
pub const X_RATE_LIMIT_RESET: &str = "x-ratelimit-reset";
pub const RETRY_AFTER: &str = "retry-after";

/// The id of the last event a client of an event stream saw, sent when it resumes.
pub const LAST_EVENT_ID: &str = "last-event-id";
