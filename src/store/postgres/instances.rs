//! Which runtime instances on one Postgres database are alive: each holds a session advisory
//! lock `(INSTANCE_LOCKS, n)` on a connection of its own (not the pool's), for as long as its
//! store lives.
//!
//! Liveness comes from the database, not from a heartbeat the instance writes: when a process
//! ends, however it ends (`kill -9` included), the kernel closes its connection, its backend
//! ends and the lock goes with it, so that another instance sees it gone at once; and a live
//! instance is never taken for dead because it was slow. The two-key form of the lock is a
//! space apart from the one-key (bigint) transaction locks of [`super`]: they cannot collide.
//!
//! The connection is blocking, as the pool's: used from the store's callers' threads, never
//! an async task's, and closed off the runtime with the store.

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard, PoisonError};

use postgres::Client;

use super::sql_error;
use crate::store::StoreError;

/// The first key of every instance's lock ("mr").
const INSTANCE_LOCKS: i32 = 0x6d72;

pub(super) struct Instances {
    target: super::tls::Target,
    /// `None` until an instance is held or looked at, and once the store is dropped.
    session: Mutex<Option<Session>>,
}

/// The connection that holds this store's instances' locks.
struct Session {
    client: Client,
    held: BTreeSet<u64>,
}

/// The second key of an instance's lock: its number, which stays below 2^31 for as long as
/// anyone starts instances (a later one would share the lock of one 2^31 before it).
fn key(instance: u64) -> i32 {
    i32::try_from(instance & 0x7fff_ffff).unwrap_or_default()
}

impl Instances {
    pub(super) fn new(target: super::tls::Target) -> Instances {
        Instances {
            target,
            session: Mutex::new(None),
        }
    }

    /// The session, connected: (re)connected when it was never opened or its connection was
    /// lost (a database restart), and then holding again every instance it held.
    fn session(&self) -> Result<MutexGuard<'_, Option<Session>>, StoreError> {
        let mut guard = self.session.lock().unwrap_or_else(PoisonError::into_inner);
        let lost = match guard.as_ref() {
            None => None,
            Some(session) if session.client.is_closed() => Some(session.held.clone()),
            Some(_) => return Ok(guard),
        };
        let mut session = Session {
            client: self
                .target
                .connect()
                .map_err(sql_error("connecting for the instance locks"))?,
            held: BTreeSet::new(),
        };
        if let Some(held) = lost {
            tracing::warn!(
                "the connection holding the instance locks was lost: holding them again"
            );
            for instance in held {
                session.lock(instance)?;
            }
        }
        *guard = Some(session);
        Ok(guard)
    }

    pub(super) fn hold(&self, instance: u64) -> Result<(), StoreError> {
        let mut guard = self.session()?;
        let session = guard.as_mut().expect("session() connects");
        session.lock(instance)
    }

    pub(super) fn alive(&self, instance: u64) -> Result<bool, StoreError> {
        let context = "looking at a runtime instance's lock";
        let mut guard = self.session()?;
        let session = guard.as_mut().expect("session() connects");
        if session.held.contains(&instance) {
            return Ok(true);
        }
        let taken: bool = session
            .client
            .query_one(
                "SELECT pg_try_advisory_lock($1, $2)",
                &[&INSTANCE_LOCKS, &key(instance)],
            )
            .map_err(sql_error(context))?
            .get(0);
        if taken {
            // Nobody held it: let go at once, it is not ours.
            session
                .client
                .query_one(
                    "SELECT pg_advisory_unlock($1, $2)",
                    &[&INSTANCE_LOCKS, &key(instance)],
                )
                .map_err(sql_error(context))?;
        }
        Ok(!taken)
    }

    /// The connection, for the store's drop to close off the async runtime.
    pub(super) fn take(&self) -> Option<Client> {
        self.session
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
            .map(|session| session.client)
    }
}

impl Session {
    fn lock(&mut self, instance: u64) -> Result<(), StoreError> {
        let context = "holding the runtime instance's lock";
        if self.held.contains(&instance) {
            return Ok(());
        }
        let taken: bool = self
            .client
            .query_one(
                "SELECT pg_try_advisory_lock($1, $2)",
                &[&INSTANCE_LOCKS, &key(instance)],
            )
            .map_err(sql_error(context))?
            .get(0);
        if !taken {
            // Instance numbers are never given twice: a session elsewhere holds our number.
            return Err(StoreError::new(
                context,
                format!("another session holds the lock of instance {instance}"),
            ));
        }
        self.held.insert(instance);
        Ok(())
    }
}
