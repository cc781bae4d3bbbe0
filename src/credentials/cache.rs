//! The bounded cache of token validations. A token is verified against its argon2id hash once;
//! for up to a minute after, the same token is found here by the SHA-256 of its text (never the
//! text itself) and only the store's revocation sequence is read, so that a revocation made by
//! any instance is seen by the next request.

use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lru::LruCache;
use sha2::{Digest, Sha256};

use crate::store::Credential;

/// How long a validation is trusted before the hash is verified again.
pub const CACHE_TTL: Duration = Duration::from_secs(60);

/// A validated credential, as the cache keeps it: no salt, no hash.
#[derive(Clone, Debug)]
pub struct CachedValidation {
    pub credential: Credential,
    /// The store's revocation sequence when the credential was last read.
    pub revocation_seq: u64,
    validated_at: Instant,
}

pub struct ValidationCache {
    entries: Mutex<LruCache<[u8; 32], CachedValidation>>,
    ttl: Duration,
}

impl std::fmt::Debug for ValidationCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidationCache")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl ValidationCache {
    /// A cache of at most `capacity` validations (the least recently used goes first).
    pub fn new(capacity: usize) -> ValidationCache {
        ValidationCache::with_ttl(capacity, CACHE_TTL)
    }

    pub fn with_ttl(capacity: usize, ttl: Duration) -> ValidationCache {
        let capacity = NonZeroUsize::new(capacity).unwrap_or(NonZeroUsize::MIN);
        ValidationCache {
            entries: Mutex::new(LruCache::new(capacity)),
            ttl,
        }
    }

    /// The key of a token: its SHA-256.
    pub fn key_of(token: &str) -> [u8; 32] {
        Sha256::digest(token.as_bytes()).into()
    }

    /// The validation of `token`, when one younger than the cache's time to live is kept.
    pub fn get(&self, token: &str) -> Option<CachedValidation> {
        let key = ValidationCache::key_of(token);
        let mut entries = self.lock();
        match entries.get(&key) {
            Some(entry) if entry.validated_at.elapsed() < self.ttl => Some(entry.clone()),
            Some(_) => {
                entries.pop(&key);
                None
            }
            None => None,
        }
    }

    /// Keeps a validation of `token` just verified (or re-read at `revocation_seq`).
    pub fn put(&self, token: &str, mut credential: Credential, revocation_seq: u64) {
        credential.salt.clear();
        credential.hash.clear();
        self.lock().put(
            ValidationCache::key_of(token),
            CachedValidation {
                credential,
                revocation_seq,
                validated_at: Instant::now(),
            },
        );
    }

    /// Refreshes the revocation sequence an entry was checked at, keeping its age.
    pub fn checked_at(&self, token: &str, revocation_seq: u64) {
        if let Some(entry) = self.lock().get_mut(&ValidationCache::key_of(token)) {
            entry.revocation_seq = revocation_seq;
        }
    }

    /// Forgets `token`'s validation (a revoked or expired credential).
    pub fn forget(&self, token: &str) {
        self.lock().pop(&ValidationCache::key_of(token));
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The keys held, for the tests that prove no token is one of them.
    pub fn keys(&self) -> Vec<[u8; 32]> {
        self.lock().iter().map(|(key, _)| *key).collect()
    }

    /// Whether any kept entry still carries a salt or a hash (it never should).
    pub fn holds_hashes(&self) -> bool {
        self.lock().iter().any(|(_, entry)| {
            !entry.credential.salt.is_empty() || !entry.credential.hash.is_empty()
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, LruCache<[u8; 32], CachedValidation>> {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
