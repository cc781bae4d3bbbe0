//! The bearer schemes: each refusal in its order, the cache that never holds a token and never
//! outlives a revocation, and a checksum that spares the store.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use marketref::credentials::{TokenKind, ValidationCache, issue};
use marketref::store::{SqliteStore, Store, StoreError, StoreInfo, StoreViews, Tx};
use serde_json::json;

use super::support::{Ml, deploy, model, vendor};
use crate::support::TestServer;

#[tokio::test]
async fn each_refusal_of_a_bearer_scheme() {
    let server = TestServer::start().await;
    let acme = vendor(&server, "Acme").await;
    let me = |token: Option<&str>| {
        let call = server.op("mlVendors.me", &[]);
        match token {
            Some(token) => call.bearer(token),
            None => call,
        }
    };
    assert_eq!(me(None).send().await.reason(), "auth_header_required");
    let basic = server
        .op("mlVendors.me", &[])
        .header("authorization", "Basic abc")
        .send()
        .await;
    assert_eq!(basic.reason(), "token_malformed");
    assert_eq!(basic.body["error"]["details"]["rule"], "bearer");
    let shape = me(Some("vk_key_1_short")).send().await;
    assert_eq!(shape.body["error"]["details"]["rule"], "shape");
    let mut typo = acme.key.clone();
    let at = typo.len() - 8;
    let swapped = if &typo[at..=at] == "A" { "B" } else { "A" };
    typo.replace_range(at..=at, swapped);
    let checksum = me(Some(&typo)).send().await;
    assert_eq!(checksum.reason(), "token_malformed");
    assert_eq!(checksum.body["error"]["details"]["rule"], "checksum");
    let never_issued = issue(TokenKind::VendorKey, "key_424242").token;
    assert_eq!(
        me(Some(&never_issued)).send().await.reason(),
        "token_inactive"
    );
    let reply = me(Some(&acme.key)).send().await;
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["data"]["vendor_id"], acme.id.as_str());
    let later = me(Some(&acme.key)).at("2026-05-29T19:00:00Z").send().await;
    assert_eq!(
        later.reason(),
        "token_inactive",
        "90 days on, by the request clock, the key has expired"
    );
    assert_eq!(
        me(Some(&acme.key))
            .at("2026-05-29T18:59:59Z")
            .send()
            .await
            .status,
        200
    );

    let registered = model(&server, &acme, "m").await;
    let deployment = deploy(&server, &acme, &registered).await;
    let wrong_kind = me(Some(&deployment.token)).send().await;
    assert_eq!(wrong_kind.reason(), "token_scope_insufficient");
    assert_eq!(
        wrong_kind.body["error"]["details"]["token_type"],
        "deployment_token"
    );
    let reverse = server
        .op("mlHeartbeats.record", &[])
        .bearer(&acme.key)
        .json(&super::support::heartbeat_body(&deployment))
        .send()
        .await;
    assert_eq!(reverse.reason(), "token_scope_insufficient");
    assert_eq!(
        reverse.body["error"]["details"]["required_token_type"],
        "deployment_token"
    );
    // A key without `models:write` cannot register models.
    let reader = server
        .op("mlKeys.create", &[])
        .bearer(&acme.key)
        .json(&json!({"scopes": ["rounds:read"]}))
        .send()
        .await;
    let reader_key = reader.body["data"]["api_key"].as_str().unwrap();
    let refused = server
        .op("mlModels.create", &[])
        .bearer(reader_key)
        .json(&json!({"name": "x", "task": "signal", "version": "1"}))
        .send()
        .await;
    assert_eq!(refused.reason(), "token_scope_insufficient");
    assert_eq!(
        refused.body["error"]["details"]["missing_scopes"],
        json!(["models:write"])
    );
    server.stop().await;
}

#[tokio::test]
async fn a_revoked_key_is_refused_on_the_next_request_though_it_is_cached() {
    let server = TestServer::start().await;
    let acme = vendor(&server, "Acme").await;
    let second = server
        .op("mlKeys.create", &[])
        .bearer(&acme.key)
        .json(&json!({}))
        .send()
        .await;
    let second_key = second.body["data"]["api_key"].as_str().unwrap().to_owned();
    let second_id = second.body["data"]["key_id"].as_str().unwrap().to_owned();
    assert_eq!(
        server
            .op("mlVendors.me", &[])
            .bearer(&second_key)
            .send()
            .await
            .status,
        200
    );
    let cache = &server.state.runtime().auth_cache;
    assert!(
        cache.keys().contains(&ValidationCache::key_of(&second_key)),
        "cached"
    );
    let revoked = server
        .op("mlKeys.revoke", &[("key_id", &second_id)])
        .bearer(&acme.key)
        .send()
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    let after = server
        .op("mlVendors.me", &[])
        .bearer(&second_key)
        .send()
        .await;
    assert_eq!(after.reason(), "token_inactive");
    assert_eq!(
        server
            .op("mlVendors.me", &[])
            .bearer(&acme.key)
            .send()
            .await
            .status,
        200
    );
    let listed = server.op("mlKeys.list", &[]).bearer(&acme.key).send().await;
    let row = &listed.body["data"]["items"][1];
    assert_eq!(
        (row["key_id"].as_str(), row["active"].as_bool()),
        (Some(second_id.as_str()), Some(false))
    );
    assert_eq!(
        row["last4"].as_str(),
        Some(&second_key[second_key.len() - 4..])
    );
    assert!(
        !listed.body.to_string().contains(&second_key[20..40]),
        "no listing holds a secret"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_revocation_on_one_instance_is_seen_by_another_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shared.db");
    let one = TestServer::start_at(&path, true).await;
    let two = TestServer::start_at(&path, true).await;
    let acme = vendor(&one, "Acme").await;
    assert_eq!(
        two.op("mlVendors.me", &[])
            .bearer(&acme.key)
            .send()
            .await
            .status,
        200
    );
    let revoked = one
        .op("mlKeys.revoke", &[("key_id", "key_000001")])
        .bearer(&acme.key)
        .send()
        .await;
    assert_eq!(revoked.status, 200, "{}", revoked.body);
    assert_eq!(
        two.op("mlVendors.me", &[])
            .bearer(&acme.key)
            .send()
            .await
            .reason(),
        "token_inactive"
    );
    one.stop().await;
    two.stop().await;
}

#[tokio::test]
async fn the_cache_holds_token_digests_and_no_hash() {
    let server = TestServer::start().await;
    let acme = vendor(&server, "Acme").await;
    let beta = vendor(&server, "Beta").await;
    for key in [&acme.key, &beta.key] {
        server.op("mlVendors.me", &[]).bearer(key).send().await;
    }
    let cache = &server.state.runtime().auth_cache;
    let keys = cache.keys();
    assert_eq!(keys.len(), 2);
    for key in [&acme.key, &beta.key] {
        // A key is the SHA-256 of its token: 32 bytes, where a token is 60 characters or more.
        assert!(keys.contains(&ValidationCache::key_of(key)));
        assert!(key.len() > 32);
    }
    assert!(!cache.holds_hashes());
    server.stop().await;
}

/// A store that counts the transactions the runtime opens on it for requests: not those of
/// the background workers (the training queue's polls, the sweep for runs of dead instances),
/// which come when they will.
struct Counting {
    inner: SqliteStore,
    opened: AtomicUsize,
}

impl Counting {
    fn count(&self) {
        let thread = std::thread::current();
        if !thread
            .name()
            .is_some_and(|name| name.starts_with("ml_market-"))
        {
            self.opened.fetch_add(1, Ordering::SeqCst);
        }
    }
}

impl Store for Counting {
    fn info(&self) -> StoreInfo {
        self.inner.info()
    }
    fn read(&self) -> Result<Box<dyn Tx>, StoreError> {
        self.count();
        self.inner.read()
    }
    fn write(&self) -> Result<Box<dyn Tx>, StoreError> {
        self.count();
        self.inner.write()
    }
    fn views(&self) -> &'static StoreViews {
        self.inner.views()
    }
    fn hold_instance(&self, instance: u64) -> Result<(), StoreError> {
        self.inner.hold_instance(instance)
    }
    fn instance_alive(&self, instance: u64) -> Result<bool, StoreError> {
        self.inner.instance_alive(instance)
    }
    fn close(&self) -> Result<(), StoreError> {
        self.inner.close()
    }
}

#[tokio::test]
async fn a_token_with_a_wrong_checksum_never_reaches_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Counting {
        inner: SqliteStore::open(&dir.path().join("t.db")).unwrap(),
        opened: AtomicUsize::new(0),
    });
    let server = TestServer::start_with(store.clone(), true).await;
    let acme = vendor(&server, "Acme").await;
    let before = store.opened.load(Ordering::SeqCst);
    let mut typo = acme.key.clone();
    typo.pop();
    typo.push(if acme.key.ends_with('0') { '1' } else { '0' });
    for token in [typo.as_str(), "vk_key_000001_tooshort", "sit_"] {
        let reply = server.op("mlVendors.me", &[]).bearer(token).send().await;
        assert_eq!(reply.reason(), "token_malformed");
    }
    assert_eq!(
        store.opened.load(Ordering::SeqCst),
        before,
        "no transaction was opened"
    );
    server
        .op("mlVendors.me", &[])
        .bearer(&acme.key)
        .send()
        .await;
    assert!(
        store.opened.load(Ordering::SeqCst) > before,
        "the good one was looked up"
    );
    server.stop().await;
}

#[tokio::test]
async fn introspection_tells_an_active_token_from_any_other() {
    let server = TestServer::start().await;
    let acme = vendor(&server, "Acme").await;
    let registered = model(&server, &acme, "m").await;
    let deployment = deploy(&server, &acme, &registered).await;
    let look = |token: String| {
        server
            .operator("mlTokens.introspect", &[])
            .json(&json!({"token": token}))
            .send()
    };
    let key = look(acme.key.clone()).await;
    assert_eq!(key.body["data"]["active"], true);
    assert_eq!(key.body["data"]["token_type"], "vendor_key");
    assert_eq!(key.body["data"]["vendor_id"], acme.id.as_str());
    let token = look(deployment.token.clone()).await;
    assert_eq!(token.body["data"]["deployment_id"], deployment.id.as_str());
    assert_eq!(
        token.body["data"]["scope"],
        "consensus:write heartbeats:write signals:write"
    );
    assert!(
        token.body["data"]["exp"].as_i64().unwrap() - token.body["data"]["iat"].as_i64().unwrap()
            == 30 * 86_400
    );
    for inactive in [
        format!("{}x", acme.key),
        issue(TokenKind::VendorKey, "key_000077").token,
        "junk".to_owned(),
    ] {
        assert_eq!(look(inactive).await.body["data"], json!({"active": false}));
    }
    server.stop().await;
}

#[tokio::test]
async fn outside_development_a_token_holder_does_not_choose_the_clock() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("m.sqlite")).unwrap());
    let server = TestServer::start_with(store, false).await;
    // The operator (a trusted gateway's caller) creates the vendor a year before the server's
    // now: the key expired by the server's clock.
    let reply = server
        .operator("mlVendors.create", &[])
        .at("2025-01-01T00:00:00Z")
        .json(&json!({"name": "Acme"}))
        .send()
        .await;
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.body["data"]["expires_at"], "2025-04-01T00:00:00.000Z");
    let key = reply.body["data"]["api_key"].as_str().unwrap();
    let claimed = server
        .op("mlVendors.me", &[])
        .bearer(key)
        .at("2025-01-02T00:00:00Z")
        .send()
        .await;
    assert_eq!(claimed.reason(), "token_inactive", "{}", claimed.body);
    server.stop().await;

    // A development server believes the request clock, as milestones need.
    let dev = TestServer::start().await;
    let reply = dev
        .operator("mlVendors.create", &[])
        .at("2025-01-01T00:00:00Z")
        .json(&json!({"name": "Acme"}))
        .send()
        .await;
    let key = reply.body["data"]["api_key"].as_str().unwrap();
    let me = dev
        .op("mlVendors.me", &[])
        .bearer(key)
        .at("2025-01-02T00:00:00Z")
        .send()
        .await;
    assert_eq!(me.status, 200, "{}", me.body);
    dev.stop().await;
}
