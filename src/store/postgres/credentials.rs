//! Credentials and rate windows on Postgres.

use postgres::Row;

use crate::credentials::TokenKind;
use crate::store::{Credential, CredentialStore, RateLimitStore, StoreError};

use super::{PostgresTx, unsigned};

/// The counter the revocations move.
const REVOCATIONS: &str = "credential_revocations";

const COLUMNS: &str = "id, kind, vendor_id, deployment_id, scopes, salt, hash, hash_params, \
                       last4, created_at, expires_at, revoked_at, last_used_at";

fn credential_of(row: &Row) -> Result<Credential, StoreError> {
    let kind: &str = row.get(1);
    let scopes: &str = row.get(4);
    Ok(Credential {
        id: row.get(0),
        kind: TokenKind::parse(kind).ok_or_else(|| {
            StoreError::new(
                "reading credentials",
                format!("unknown credential kind `{kind}`"),
            )
        })?,
        vendor_id: row.get(2),
        deployment_id: row.get(3),
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        salt: row.get(5),
        hash: row.get(6),
        hash_params: row.get(7),
        last4: row.get(8),
        created_at: row.get(9),
        expires_at: row.get(10),
        revoked_at: row.get(11),
        last_used_at: row.get(12),
    })
}

impl PostgresTx {
    fn credentials_where(
        &self,
        condition: &str,
        params: super::Params<'_>,
    ) -> Result<Vec<Credential>, StoreError> {
        self.rows(
            &format!("SELECT {COLUMNS} FROM credentials WHERE {condition} ORDER BY id"),
            params,
            "reading credentials",
        )?
        .iter()
        .map(credential_of)
        .collect()
    }
}

impl CredentialStore for PostgresTx {
    fn insert_credential(&mut self, c: &Credential) -> Result<(), StoreError> {
        self.execute(
            &format!(
                "INSERT INTO credentials ({COLUMNS})
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
            ),
            &[
                &c.id,
                &c.kind.as_str(),
                &c.vendor_id,
                &c.deployment_id,
                &c.scopes.join(" "),
                &c.salt,
                &c.hash,
                &c.hash_params,
                &c.last4,
                &c.created_at,
                &c.expires_at,
                &c.revoked_at,
                &c.last_used_at,
            ],
            "storing a credential",
        )
        .map(drop)
    }

    fn credential(&self, id: &str) -> Result<Option<Credential>, StoreError> {
        Ok(self.credentials_where("id = $1", &[&id])?.pop())
    }

    fn vendor_credentials(
        &self,
        vendor_id: &str,
        kind: TokenKind,
    ) -> Result<Vec<Credential>, StoreError> {
        self.credentials_where(
            "vendor_id = $1 AND kind = $2",
            &[&vendor_id, &kind.as_str()],
        )
    }

    fn deployment_credentials(&self, deployment_id: &str) -> Result<Vec<Credential>, StoreError> {
        self.credentials_where("deployment_id = $1", &[&deployment_id])
    }

    fn revoke_credential(&mut self, id: &str, at: &str) -> Result<bool, StoreError> {
        let changed = self.execute(
            "UPDATE credentials SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
            &[&id, &at],
            "revoking a credential",
        )?;
        if changed == 0 {
            return Ok(false);
        }
        crate::store::CounterStore::next_counter(self, REVOCATIONS)?;
        Ok(true)
    }

    fn revocation_seq(&self) -> Result<u64, StoreError> {
        Ok(self
            .seq(
                "SELECT value FROM counters WHERE name = $1",
                &[&REVOCATIONS],
                "reading the revocation sequence",
            )?
            .unwrap_or_default())
    }

    fn touch_credential(&mut self, id: &str, at: &str) -> Result<(), StoreError> {
        self.execute(
            "UPDATE credentials SET last_used_at = $2 WHERE id = $1",
            &[&id, &at],
            "noting a credential's use",
        )
        .map(drop)
    }
}

impl RateLimitStore for PostgresTx {
    fn count_request(
        &mut self,
        bucket: &str,
        subject: &str,
        window_start: i64,
    ) -> Result<u64, StoreError> {
        // One row per subject and window, shared by every instance: the upsert counts this
        // request where all of them count.
        self.execute(
            "DELETE FROM rate_windows WHERE bucket = $1 AND subject = $2 AND window_start < $3",
            &[&bucket, &subject, &window_start],
            "dropping old rate windows",
        )?;
        let row = self.row(
            "INSERT INTO rate_windows (bucket, subject, window_start, count) VALUES ($1, $2, $3, 1)
             ON CONFLICT (bucket, subject, window_start)
             DO UPDATE SET count = rate_windows.count + 1
             RETURNING count",
            &[&bucket, &subject, &window_start],
            "counting a request",
        )?;
        Ok(row.map_or(0, |row| unsigned(row.get::<_, i64>(0))))
    }
}
