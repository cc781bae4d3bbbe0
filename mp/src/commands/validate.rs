//! `mp validate --url URL`: a running model server against the manifest's `model_server`
//! contract (spec section 8). Each check is printed; `--junit` writes them as JUnit XML; any
//! failed check exits 1.
//!
//! The checks: `/health` and `/ready` answer their statuses and schemas (and the server is
//! ready), `/infer` answers a request of 40 bars with its schema, the same request gets the
//! same answer, a request without bars or features is refused with a 4xx (not a 5xx), and the
//! p95 of 20 `/infer` requests stays under the contract's budget.

use std::path::Path;
use std::time::{Duration, Instant};

use marketref::contracts::schemas;
use marketref::manifest::{Manifest, ModelServerContract, ModelServerEndpoint};
use reqwest::blocking::Client as Http;
use serde_json::{Value, json};

use crate::Context;
use crate::checks::{self, Check};
use crate::error::{Error, Result};

/// Requests timed for the latency check.
const LATENCY_REQUESTS: usize = 20;
/// Bars of the sample request: 20 of history and some to spare.
const SAMPLE_BARS: usize = 40;

/// The sample `/infer` request: `SAMPLE_BARS` hourly bars of a gentle wave, the same on every run.
fn sample_request() -> Value {
    let start: i64 = 1_767_225_600;
    let bars: Vec<Value> = (0..SAMPLE_BARS)
        .map(|i| {
            let t = i as f64;
            let close = 1.1 * (1.0 + 0.002 * (t / 3.0).sin() + 0.0005 * t / 10.0);
            let open = 1.1 * (1.0 + 0.002 * ((t - 1.0) / 3.0).sin() + 0.0005 * (t - 1.0) / 10.0);
            json!([
                start + 3600 * i as i64,
                open,
                open.max(close) * 1.0005,
                open.min(close) * 0.9995,
                close,
                1000.0 + t
            ])
        })
        .collect();
    json!({"symbol": "EURUSD", "timeframe": "1h", "ohlcv": bars})
}

/// A compiled schema of the contract.
fn validator(name: &str) -> Result<jsonschema::Validator> {
    let schema = schemas::named(name)
        .ok_or_else(|| Error::local(format!("the contract has no schema `{name}`")))?;
    jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&schema)
        .map_err(|e| Error::local(format!("the schema `{name}` does not compile: {e}")))
}

/// The first few schema failures of `body`, as `path: message`.
fn schema_failures(validator: &jsonschema::Validator, body: &Value) -> Vec<String> {
    validator
        .iter_errors(body)
        .take(3)
        .map(|error| format!("{}: {error}", error.instance_path().as_str()))
        .collect()
}

struct Answer {
    status: u16,
    body: Option<Value>,
    elapsed: Duration,
}

fn call(
    http: &Http,
    url: &str,
    endpoint: &ModelServerEndpoint,
    body: Option<&Value>,
) -> std::result::Result<Answer, String> {
    let started = Instant::now();
    let mut request = http.request(
        endpoint
            .method
            .as_str()
            .parse()
            .map_err(|_| "a method".to_owned())?,
        format!("{url}{}", endpoint.path),
    );
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_string());
    }
    let response = request.send().map_err(|e| format!("no answer: {e}"))?;
    let status = response.status().as_u16();
    let text = response
        .text()
        .map_err(|e| format!("reading the answer: {e}"))?;
    Ok(Answer {
        status,
        body: serde_json::from_str(&text).ok(),
        elapsed: started.elapsed(),
    })
}

/// The status and schema of one answer, in a few words, or why they are wrong.
fn judged(
    endpoint: &ModelServerEndpoint,
    answer: &std::result::Result<Answer, String>,
    wanted: &[u16],
) -> Result<(bool, String)> {
    let answer = match answer {
        Ok(answer) => answer,
        Err(why) => return Ok((false, why.clone())),
    };
    let words = format!(
        "{} {} answered {}",
        endpoint.method.as_str(),
        endpoint.path,
        answer.status
    );
    if !wanted.contains(&answer.status) {
        return Ok((
            false,
            format!(
                "{words}, not {}",
                wanted
                    .iter()
                    .map(u16::to_string)
                    .collect::<Vec<_>>()
                    .join(" or ")
            ),
        ));
    }
    let Some(body) = &answer.body else {
        return Ok((false, format!("{words} with a body that is not JSON")));
    };
    let failures = schema_failures(&validator(&endpoint.response_schema)?, body);
    if failures.is_empty() {
        Ok((true, format!("{words}, a {}", endpoint.response_schema)))
    } else {
        Ok((
            false,
            format!(
                "{words}, not a {}: {}",
                endpoint.response_schema,
                failures.join("; ")
            ),
        ))
    }
}

fn endpoint<'c>(contract: &'c ModelServerContract, name: &str) -> Result<&'c ModelServerEndpoint> {
    contract
        .endpoint(name)
        .ok_or_else(|| Error::local(format!("the contract has no `{name}` endpoint")))
}

pub fn validate(context: &Context, url: &str, task: &str, junit: Option<&Path>) -> Result<()> {
    let contract = Manifest::embedded()
        .model_server
        .as_ref()
        .ok_or_else(|| Error::local("this build's manifest has no model-server contract"))?;
    if !contract
        .endpoints
        .iter()
        .any(|e| e.tasks.iter().any(|t| t == task))
    {
        return Err(Error::local(format!(
            "the model-server contract has no endpoints for the task `{task}`"
        ))
        .with_hint("only the signal task's model servers have a contract yet"));
    }
    let url = url.trim_end_matches('/');
    let http = Http::builder()
        .timeout(Duration::from_secs(10))
        .no_proxy()
        .build()
        .map_err(|e| Error::local(format!("starting the HTTP client: {e}")))?;
    let mut checks = Vec::new();
    let mut push = |name: &str, started: Instant, (passed, detail): (bool, String)| {
        let mut check = Check::new(name, passed, detail);
        check.elapsed = started.elapsed();
        checks.push(check);
    };

    for name in ["health", "ready"] {
        let started = Instant::now();
        let endpoint = endpoint(contract, name)?;
        let answer = call(&http, url, endpoint, None);
        let mut verdict = judged(endpoint, &answer, &endpoint.statuses)?;
        if name == "ready" && verdict.0 {
            let ready = answer
                .as_ref()
                .ok()
                .and_then(|a| a.body.as_ref())
                .is_some_and(|b| b["ready"] == true);
            let first = endpoint.statuses[0];
            if !ready || answer.as_ref().is_ok_and(|a| a.status != first) {
                verdict = (false, format!("the server is not ready: {}", verdict.1));
            }
        }
        push(name, started, verdict);
    }

    let infer = endpoint(contract, "infer")?;
    let request = sample_request();
    let started = Instant::now();
    let first = call(&http, url, infer, Some(&request));
    push(
        "infer",
        started,
        judged(infer, &first, &infer.statuses[..1])?,
    );

    let started = Instant::now();
    let second = call(&http, url, infer, Some(&request));
    let same = match (&first, &second) {
        (Ok(a), Ok(b)) if a.body.is_some() && a.body == b.body && a.status == b.status => {
            (true, "two requests alike got one answer".to_owned())
        }
        (Ok(a), Ok(b)) => (
            false,
            format!(
                "two requests alike got different answers: {} {} then {} {}",
                a.status,
                a.body.clone().unwrap_or_default(),
                b.status,
                b.body.clone().unwrap_or_default()
            ),
        ),
        (Err(why), _) | (_, Err(why)) => (false, why.clone()),
    };
    push("infer-same-answer", started, same);

    let started = Instant::now();
    let refused = match call(
        &http,
        url,
        infer,
        Some(&json!({"symbol": "EURUSD", "timeframe": "1h"})),
    ) {
        Ok(answer) if (400..500).contains(&answer.status) => (
            true,
            format!(
                "a request without bars or features answered {}",
                answer.status
            ),
        ),
        Ok(answer) => (
            false,
            format!(
                "a request without bars or features answered {}, not a 4xx",
                answer.status
            ),
        ),
        Err(why) => (false, why),
    };
    push("infer-bad-input", started, refused);

    let started = Instant::now();
    let mut times = Vec::with_capacity(LATENCY_REQUESTS);
    let mut failed = None;
    for _ in 0..LATENCY_REQUESTS {
        match call(&http, url, infer, Some(&request)) {
            Ok(answer) if answer.status == infer.statuses[0] => times.push(answer.elapsed),
            Ok(answer) => failed = Some(format!("an answer was {}", answer.status)),
            Err(why) => failed = Some(why),
        }
    }
    times.sort_unstable();
    let latency = match failed {
        Some(why) => (false, why),
        None => {
            let p95 = times[(times.len() * 95).div_ceil(100).saturating_sub(1)];
            let ms = p95.as_secs_f64() * 1000.0;
            let budget = contract.infer_p95_budget_ms;
            (
                ms <= budget as f64,
                format!("p95 {ms:.1} ms over {LATENCY_REQUESTS} requests (budget {budget} ms)"),
            )
        }
    };
    push("infer-latency", started, latency);

    if let Some(path) = junit {
        std::fs::write(path, junit_xml(&checks))
            .map_err(|e| Error::local(format!("writing {}: {e}", path.display())))?;
    }
    checks::report(
        &context.out,
        json!({ "url": url, "task": task }),
        &checks,
        |failed| format!("{url} breaks the model-server contract: {failed}"),
    )
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn junit_xml(checks: &[Check]) -> String {
    let failures = checks.iter().filter(|c| !c.passed).count();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n  <testsuite name=\"mp validate\" tests=\"{}\" failures=\"{failures}\">\n",
        checks.len()
    );
    for check in checks {
        let name = xml_escape(&check.name);
        let time = format!("{:.3}", check.elapsed.as_secs_f64());
        if check.passed {
            xml.push_str(&format!(
                "    <testcase classname=\"model-server\" name=\"{name}\" time=\"{time}\"/>\n"
            ));
        } else {
            xml.push_str(&format!(
                "    <testcase classname=\"model-server\" name=\"{name}\" time=\"{time}\">\n      <failure message=\"{}\"/>\n    </testcase>\n",
                xml_escape(&check.detail)
            ));
        }
    }
    xml.push_str("  </testsuite>\n</testsuites>\n");
    xml
}
