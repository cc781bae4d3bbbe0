//! Vendor keys and deployment tokens (spec `ml-marketplace.md` section 2): their format with a
//! checksum, their hashing (argon2id over salt, secret and a server pepper), the bounded cache of
//! validations, and the one redaction that keeps them out of logs and artifacts.
//!
//! Below both the runtime, which authenticates with them, and the domains, which issue them: a
//! credential is a row of the core store ([`crate::store::CredentialStore`]), found by its id,
//! never by scanning hashes.

mod cache;
mod hash;
mod redact;
pub mod scan;
mod signed_url;
mod token;

pub use cache::{CachedValidation, ValidationCache};
pub use hash::{ARGON2_PARAMS, Hasher, Pepper};
pub use redact::{Redacting, RedactingWriter, redact, redacted};
pub use signed_url::{Signature, UrlRefusal, UrlSigner};
pub use token::{Issued, ParsedToken, TokenKind, TokenMalformed, compose, issue};
