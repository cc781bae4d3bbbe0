//! What an operator does from the shell, on the store itself (`marketref vendors create`,
//! `marketref rounds publish`): the same rows the operations write, in one transaction each.

use std::path::Path;

use time::OffsetDateTime;

use crate::clock::format_rfc3339_millis;
use crate::credentials::{Hasher, TokenKind};
use crate::error::{Error, ErrorKind};
use crate::store::Store;

use super::files;
use super::issue::{Grant, issue_credential};
use super::rules::VENDOR_KEY_LIFETIME;
use super::store;
use super::types::{DatasetRound, Vendor, VendorCreated, VendorScope};

/// A vendor and its first key, as `POST /api/vendors` makes them.
pub fn create_vendor(
    store_: &dyn Store,
    hasher: &Hasher,
    name: &str,
    now: OffsetDateTime,
) -> Result<VendorCreated, Error> {
    if name.is_empty() || name.chars().count() > 120 {
        return Err(Error::new(
            ErrorKind::Config,
            "--name must be 1 to 120 characters",
        ));
    }
    let mut tx = store_.write()?;
    let ml = store::of(tx.as_mut())?;
    let seq = ml.next_counter("ml_vendor")?;
    let vendor = Vendor {
        vendor_id: format!("vendor_{seq:06}"),
        name: name.to_owned(),
        created_at: format_rfc3339_millis(now),
    };
    ml.insert_vendor(&vendor, seq)?;
    let key = issue_credential(
        ml,
        hasher,
        now,
        Grant {
            kind: TokenKind::VendorKey,
            vendor_id: &vendor.vendor_id,
            deployment_id: None,
            scopes: VendorScope::ALL
                .map(|scope| scope.as_str().to_owned())
                .to_vec(),
            lifetime: VENDOR_KEY_LIFETIME,
        },
    )?;
    tx.commit()?;
    Ok(VendorCreated {
        vendor_id: vendor.vendor_id,
        name: vendor.name,
        key_id: key.credential.id,
        api_key: key.token,
        scopes: VendorScope::ALL.to_vec(),
        expires_at: key.credential.expires_at,
    })
}

/// Registers the round folder `source` (as `rounds generate` writes one) under `round_id`,
/// copying its files into `data_dir`; `current` makes it the current round (the first round is
/// current anyway).
pub fn publish_round(
    store_: &dyn Store,
    data_dir: &Path,
    source: &Path,
    round_id: &str,
    current: bool,
    now: OffsetDateTime,
) -> Result<DatasetRound, Error> {
    let valid_id = !round_id.is_empty()
        && round_id.len() <= 64
        && round_id != "current"
        && round_id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !valid_id {
        return Err(Error::new(
            ErrorKind::Config,
            "--round-id must be 1 to 64 of a-z, 0-9, - and _, and not `current`",
        ));
    }
    let mut tx = store_.write()?;
    let ml = store::of(tx.as_mut())?;
    if ml.round(round_id)?.is_some() {
        return Err(Error::new(
            ErrorKind::Config,
            format!("a round `{round_id}` exists already"),
        ));
    }
    let is_current = current || ml.current_round()?.is_none();
    let round = files::publish_folder(
        data_dir,
        source,
        round_id,
        &format_rfc3339_millis(now),
        is_current,
    )
    .map_err(|message| Error::new(ErrorKind::Io, message))?;
    let seq = ml.next_counter("ml_round")?;
    ml.insert_round(&round, seq)?;
    tx.commit()?;
    Ok(round)
}
