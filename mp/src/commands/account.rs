//! `mp login`, `logout`, `whoami`, `doctor`: the key, kept and checked.

use std::io::{BufRead, IsTerminal};

use marketref::headers::CONTRACTS_VERSION;
use marketref::manifest::Manifest;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

use crate::Context;
use crate::checks::{self, Check};
use crate::client::Client;
use crate::config::{self, Config};
use crate::error::{Error, Result};
use crate::secret::masked;

/// The largest difference between the server's clock and this machine's that `doctor`
/// accepts: heartbeats and signals carry this machine's time.
const MAX_CLOCK_SKEW_S: i64 = 5;

pub fn login(context: &Context, key: Option<String>) -> Result<()> {
    let api_url = context.api_url.clone().ok_or_else(|| {
        Error::local("`mp login` needs the server")
            .with_hint("pass --api-url URL or set MP_API_URL")
    })?;
    let key = match key {
        Some(key) => key,
        None => read_key()?,
    };
    let key = key.trim().to_owned();
    if key.is_empty() {
        return Err(Error::local("no key given").with_hint("pass --key vk_... or pipe it on stdin"));
    }
    let me = Client::new(&api_url, Some(key.clone()))?.get("/api/vendors/me")?;
    let path = config::save(&Config {
        api_url: Some(api_url.clone()),
        key: Some(key.clone()),
    })?;
    let document = json!({
        "api_url": api_url,
        "vendor_id": me["vendor_id"],
        "name": me["name"],
        "key": masked(&key),
        "config": path.display().to_string(),
    });
    context.out.emit(
        &document,
        &format!(
            "logged in as {} ({}) with {}\nconfig: {} (mode 600)",
            text(&me, "name"),
            text(&me, "vendor_id"),
            masked(&key),
            path.display()
        ),
    );
    Ok(())
}

/// One line from stdin, with a prompt when stdin is a terminal.
fn read_key() -> Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("vendor key: ");
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    Ok(line)
}

pub fn logout(context: &Context) -> Result<()> {
    let removed = config::remove()?;
    let path = config::path()?;
    context.out.emit(
        &json!({"removed": removed, "config": path.display().to_string()}),
        &if removed {
            format!("logged out: removed {}", path.display())
        } else {
            "not logged in: there was no config to remove".to_owned()
        },
    );
    Ok(())
}

pub fn whoami(context: &Context) -> Result<()> {
    let client = context.vendor()?;
    let me = client.get("/api/vendors/me")?;
    let key = masked(context.config.key.as_deref().unwrap_or_default());
    let scopes: Vec<&str> = me["scopes"]
        .as_array()
        .map(|scopes| scopes.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let document = json!({
        "api_url": client.base(),
        "vendor_id": me["vendor_id"],
        "name": me["name"],
        "key_id": me["key_id"],
        "key": key,
        "scopes": me["scopes"],
        "expires_at": me["expires_at"],
    });
    context.out.emit(
        &document,
        &format!(
            "{} ({}) at {}\nkey {} ({}), expires {}\nscopes: {}",
            text(&me, "name"),
            text(&me, "vendor_id"),
            client.base(),
            text(&me, "key_id"),
            key,
            text(&me, "expires_at"),
            scopes.join(" ")
        ),
    );
    Ok(())
}

pub fn doctor(context: &Context) -> Result<()> {
    let mut checks = Vec::new();
    let client = context.anonymous()?;
    match client.send(client.request(reqwest::Method::GET, "/healthz")) {
        Err(error) => checks.push(Check::new("reachable", false, error.message)),
        Ok(response) => {
            checks.push(Check::new(
                "reachable",
                response.status().is_success(),
                format!(
                    "GET {}/healthz answered {}",
                    client.base(),
                    response.status()
                ),
            ));
            // The marketplace's own operations carry its contract version; the public
            // catalog needs no key.
            let catalog = client.send(client.request(reqwest::Method::GET, "/api/catalog?limit=1"));
            let headers = catalog
                .map(|response| response.headers().clone())
                .unwrap_or_default();
            checks.push(contracts(&headers));
            checks.push(clock(&headers));
            checks.push(key(context));
        }
    }
    checks::report(
        &context.out,
        json!({ "api_url": client.base() }),
        &checks,
        |failed| format!("doctor: {failed} failed"),
    )
}

/// The server's contract has this build's major version.
fn contracts(headers: &reqwest::header::HeaderMap) -> Check {
    let ours = &Manifest::embedded().api_version;
    let theirs = headers
        .get(CONTRACTS_VERSION)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    let major = |version: &str| version.split('.').next().map(str::to_owned);
    match theirs {
        Some(theirs) => Check::new(
            "contracts",
            major(&theirs) == major(ours),
            format!("server {theirs}, mp {ours}"),
        ),
        None => Check::new(
            "contracts",
            false,
            format!("the server sent no {CONTRACTS_VERSION} (mp speaks {ours})"),
        ),
    }
}

/// The server's `Date` is within [`MAX_CLOCK_SKEW_S`] of this machine's clock.
fn clock(headers: &reqwest::header::HeaderMap) -> Check {
    let now = OffsetDateTime::now_utc();
    let server = headers
        .get("date")
        .and_then(|value| value.to_str().ok())
        .and_then(|text| OffsetDateTime::parse(text, &Rfc2822).ok());
    match server {
        Some(server) => {
            let skew = (server - now).whole_seconds();
            // `Date` has whole seconds: one more second of slack.
            Check::new(
                "clock",
                skew.abs() <= MAX_CLOCK_SKEW_S + 1,
                format!(
                    "the server's clock is {skew:+} s from this machine's (at most {MAX_CLOCK_SKEW_S} s)"
                ),
            )
        }
        None => Check::new(
            "clock",
            false,
            "the server sent no readable Date header".to_owned(),
        ),
    }
}

/// The config's key is accepted.
fn key(context: &Context) -> Check {
    let Some(key) = context.config.key.as_deref() else {
        return Check::new("key", false, "not logged in: run `mp login`".to_owned());
    };
    match context
        .vendor()
        .and_then(|client| client.get("/api/vendors/me"))
    {
        Ok(me) => Check::new(
            "key",
            true,
            format!("{} accepted for {}", masked(key), text(&me, "vendor_id")),
        ),
        Err(error) => Check::new(
            "key",
            false,
            format!(
                "{} refused: {}",
                masked(key),
                error.reason_code().unwrap_or(&error.message)
            ),
        ),
    }
}

/// A string field of an answer, or `?`.
pub fn text<'v>(value: &'v Value, field: &str) -> &'v str {
    value[field].as_str().unwrap_or("?")
}
