//! Credentials and rate windows on SQLite.

use rusqlite::{OptionalExtension, Row, params};

use crate::credentials::TokenKind;
use crate::store::{Credential, CredentialStore, RateLimitStore, StoreError};

use super::{SqliteTx, sql_error};

/// The counter the revocations move.
const REVOCATIONS: &str = "credential_revocations";

const COLUMNS: &str = "id, kind, vendor_id, deployment_id, scopes, salt, hash, hash_params, \
                       last4, created_at, expires_at, revoked_at, last_used_at";

fn credential_of(row: &Row<'_>) -> rusqlite::Result<Credential> {
    let kind: String = row.get(1)?;
    let scopes: String = row.get(4)?;
    Ok(Credential {
        id: row.get(0)?,
        kind: TokenKind::parse(&kind).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                1,
                rusqlite::types::Type::Text,
                format!("unknown credential kind `{kind}`").into(),
            )
        })?,
        vendor_id: row.get(2)?,
        deployment_id: row.get(3)?,
        scopes: scopes.split_whitespace().map(str::to_owned).collect(),
        salt: row.get(5)?,
        hash: row.get(6)?,
        hash_params: row.get(7)?,
        last4: row.get(8)?,
        created_at: row.get(9)?,
        expires_at: row.get(10)?,
        revoked_at: row.get(11)?,
        last_used_at: row.get(12)?,
    })
}

impl SqliteTx {
    fn credentials_where(
        &self,
        condition: &str,
        params: impl rusqlite::Params,
    ) -> Result<Vec<Credential>, StoreError> {
        const CONTEXT: &str = "reading credentials";
        let mut statement = self
            .conn()
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM credentials WHERE {condition} ORDER BY id"
            ))
            .map_err(sql_error(CONTEXT))?;
        statement
            .query_map(params, credential_of)
            .and_then(Iterator::collect)
            .map_err(sql_error(CONTEXT))
    }
}

impl CredentialStore for SqliteTx {
    fn insert_credential(&mut self, c: &Credential) -> Result<(), StoreError> {
        self.execute(
            &format!("INSERT INTO credentials ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"),
            params![
                c.id,
                c.kind.as_str(),
                c.vendor_id,
                c.deployment_id,
                c.scopes.join(" "),
                c.salt,
                c.hash,
                c.hash_params,
                c.last4,
                c.created_at,
                c.expires_at,
                c.revoked_at,
                c.last_used_at
            ],
            "storing a credential",
        )
    }

    fn credential(&self, id: &str) -> Result<Option<Credential>, StoreError> {
        Ok(self.credentials_where("id = ?1", params![id])?.pop())
    }

    fn vendor_credentials(
        &self,
        vendor_id: &str,
        kind: TokenKind,
    ) -> Result<Vec<Credential>, StoreError> {
        self.credentials_where(
            "vendor_id = ?1 AND kind = ?2",
            params![vendor_id, kind.as_str()],
        )
    }

    fn deployment_credentials(&self, deployment_id: &str) -> Result<Vec<Credential>, StoreError> {
        self.credentials_where("deployment_id = ?1", params![deployment_id])
    }

    fn revoke_credential(&mut self, id: &str, at: &str) -> Result<bool, StoreError> {
        let changed = self
            .conn()
            .prepare_cached(
                "UPDATE credentials SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL",
            )
            .and_then(|mut statement| statement.execute(params![id, at]))
            .map_err(sql_error("revoking a credential"))?;
        if changed == 0 {
            return Ok(false);
        }
        crate::store::CounterStore::next_counter(self, REVOCATIONS)?;
        Ok(true)
    }

    fn revocation_seq(&self) -> Result<u64, StoreError> {
        self.conn()
            .prepare_cached("SELECT value FROM counters WHERE name = ?1")
            .and_then(|mut statement| {
                statement
                    .query_row(params![REVOCATIONS], |row| row.get::<_, u64>(0))
                    .optional()
            })
            .map(Option::unwrap_or_default)
            .map_err(sql_error("reading the revocation sequence"))
    }

    fn touch_credential(&mut self, id: &str, at: &str) -> Result<(), StoreError> {
        self.execute(
            "UPDATE credentials SET last_used_at = ?2 WHERE id = ?1",
            params![id, at],
            "noting a credential's use",
        )
    }
}

impl RateLimitStore for SqliteTx {
    fn count_request(
        &mut self,
        bucket: &str,
        subject: &str,
        window_start: i64,
    ) -> Result<u64, StoreError> {
        self.execute(
            "DELETE FROM rate_windows WHERE bucket = ?1 AND subject = ?2 AND window_start < ?3",
            params![bucket, subject, window_start],
            "dropping old rate windows",
        )?;
        self.conn()
            .prepare_cached(
                "INSERT INTO rate_windows (bucket, subject, window_start, count) VALUES (?1, ?2, ?3, 1)
                 ON CONFLICT (bucket, subject, window_start) DO UPDATE SET count = count + 1
                 RETURNING count",
            )
            .and_then(|mut statement| {
                statement.query_row(params![bucket, subject, window_start], |row| row.get(0))
            })
            .map_err(sql_error("counting a request"))
    }
}
