//! A small HTTP/1.1 load generator for loopback benchmarks: a fixed number of keep-alive
//! connections, each sending its requests one after the other, taking work from a shared
//! counter until the work or the time runs out, or the bench says stop. Built on hyper's client
//! connection, so that framing and keep-alive are hyper's, not ours.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

use crate::error::{Error, ErrorKind};

/// One keep-alive connection to the server under test.
#[derive(Debug)]
pub struct Connection {
    sender: http1::SendRequest<Full<Bytes>>,
    host: HeaderValue,
}

/// A request to send: everything but the connection.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: Method,
    pub path: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Bytes,
}

impl Call {
    pub fn get(path: &str) -> Call {
        Call {
            method: Method::GET,
            path: path.to_owned(),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    pub fn post(path: &str, body: impl Into<Bytes>) -> Call {
        Call {
            method: Method::POST,
            path: path.to_owned(),
            headers: Vec::new(),
            body: body.into(),
        }
    }

    #[must_use]
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Call {
        self.headers.push((name, value.into()));
        self
    }
}

/// A response: status and the whole body.
#[derive(Clone, Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Bytes,
}

impl Reply {
    /// The reply, when its status is `status`; else a bench failure saying what got which.
    pub fn expect(self, status: StatusCode, what: &str) -> Result<Reply, Error> {
        if self.status == status {
            Ok(self)
        } else {
            Err(bench_failure(format!(
                "{what}: expected {status}, got {}: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )))
        }
    }
}

/// A bench that cannot measure what it set out to: a refused setup step, an unexpected status.
pub fn bench_failure(message: String) -> Error {
    Error::new(ErrorKind::Io, format!("bench: {message}"))
}

impl Connection {
    pub async fn open(addr: SocketAddr) -> Result<Connection, Error> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|e| client_error(format!("connecting to {addr}"), e))?;
        stream
            .set_nodelay(true)
            .map_err(|e| client_error("setting TCP_NODELAY".to_owned(), e))?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| client_error("HTTP handshake".to_owned(), e))?;
        // The connection task ends when the sender is dropped or the server closes.
        tokio::spawn(connection);
        let host = HeaderValue::from_str(&addr.to_string())
            .map_err(|e| client_error("host header".to_owned(), e))?;
        Ok(Connection { sender, host })
    }

    pub async fn send(&mut self, call: &Call) -> Result<Reply, Error> {
        let mut builder = Request::builder()
            .method(call.method.clone())
            .uri(call.path.as_str())
            .header(header::HOST, self.host.clone());
        if !call.body.is_empty() {
            builder = builder.header(header::CONTENT_TYPE, "application/json");
        }
        for (name, value) in &call.headers {
            builder = builder.header(*name, value.as_str());
        }
        let request = builder
            .body(Full::new(call.body.clone()))
            .map_err(|e| client_error(format!("building {} {}", call.method, call.path), e))?;
        self.sender
            .ready()
            .await
            .map_err(|e| client_error("waiting for the connection".to_owned(), e))?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|e| client_error(format!("{} {}", call.method, call.path), e))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| client_error(format!("reading {} {}", call.method, call.path), e))?
            .to_bytes();
        Ok(Reply { status, body })
    }
}

fn client_error(doing: String, error: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::new(ErrorKind::Io, format!("bench client: {doing}: {error}")).with_source(error)
}

/// What a load run did.
#[derive(Clone, Debug)]
pub struct LoadOutcome {
    pub sent: usize,
    /// Responses whose status was not the expected one, with the first such reply.
    pub unexpected: usize,
    pub first_unexpected: Option<Reply>,
    pub elapsed: Duration,
    /// Per-request latencies, sorted ascending.
    pub latencies: Vec<Duration>,
    /// How many replies had each status.
    pub statuses: BTreeMap<u16, usize>,
}

impl LoadOutcome {
    /// Fails when any reply had a status other than its expected one.
    pub fn check(&self, what: &str) -> Result<(), Error> {
        match &self.first_unexpected {
            None => Ok(()),
            Some(reply) => Err(bench_failure(format!(
                "{what}: {} of {} responses had an unexpected status, the first {}: {}",
                self.unexpected,
                self.sent,
                reply.status,
                String::from_utf8_lossy(&reply.body)
            ))),
        }
    }

    /// Replies with `status`.
    pub fn count(&self, status: StatusCode) -> usize {
        self.statuses.get(&status.as_u16()).copied().unwrap_or(0)
    }

    pub fn per_second(&self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        let sent = self.sent as f64;
        sent / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    /// The latency at quantile `q` (0..=1), nearest rank.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let rank =
            ((q * self.latencies.len() as f64).ceil() as usize).clamp(1, self.latencies.len());
        self.latencies[rank - 1]
    }
}

/// Sends `calls(0) .. calls(count - 1)` over `connections` keep-alive connections, stopping
/// early at `deadline`. Each response's status must be `expect`.
pub async fn load<F>(
    addr: SocketAddr,
    connections: usize,
    count: usize,
    deadline: Duration,
    expect: StatusCode,
    calls: F,
) -> Result<LoadOutcome, Error>
where
    F: Fn(usize) -> Call + Send + Sync + 'static,
{
    let plan = Plan {
        connections,
        count,
        deadline,
        interval: None,
    };
    load_planned(addr, plan, move |index| (calls(index), expect)).await
}

/// How a load is sent.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    pub connections: usize,
    pub count: usize,
    /// Nothing is sent after this long.
    pub deadline: Duration,
    /// Request `i` is due `i × interval` after the start (an open load at a fixed rate): it is
    /// sent no earlier. A request sent late because its connection was still waiting for an
    /// earlier answer counts its latency from when it was due, so a server that falls behind
    /// shows it in the latencies; one the client waited for counts from when the timer woke
    /// it (the timer's millisecond grain is the client's, not the server's). `None`: as fast as
    /// the connections go.
    pub interval: Option<Duration>,
}

/// Sends the calls `calls(i)` names, with the status each must get, as `plan` says.
pub async fn load_planned<F>(addr: SocketAddr, plan: Plan, calls: F) -> Result<LoadOutcome, Error>
where
    F: Fn(usize) -> (Call, StatusCode) + Send + Sync + 'static,
{
    load_until(addr, plan, None, calls).await
}

/// As [`load_planned`], and nothing more is sent once `stop` is set: a load that lasts as long
/// as something else the bench waits for.
pub async fn load_until<F>(
    addr: SocketAddr,
    plan: Plan,
    stop: Option<Arc<AtomicBool>>,
    calls: F,
) -> Result<LoadOutcome, Error>
where
    F: Fn(usize) -> (Call, StatusCode) + Send + Sync + 'static,
{
    let calls = Arc::new(calls);
    let next = Arc::new(AtomicUsize::new(0));
    let mut opened = Vec::with_capacity(plan.connections);
    for _ in 0..plan.connections.max(1) {
        opened.push(Connection::open(addr).await?);
    }
    let started = Instant::now();
    let mut workers = Vec::with_capacity(opened.len());
    for mut connection in opened {
        let (calls, next, stop) = (Arc::clone(&calls), Arc::clone(&next), stop.clone());
        let stopped = move || {
            stop.as_ref()
                .is_some_and(|stop| stop.load(Ordering::Relaxed))
        };
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut statuses = BTreeMap::<u16, usize>::new();
            let (mut unexpected, mut first_unexpected) = (0, None);
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= plan.count || started.elapsed() >= plan.deadline || stopped() {
                    break;
                }
                let (call, expect) = calls(index);
                let due = match plan.interval {
                    Some(interval) => {
                        let due = started + interval * u32::try_from(index).unwrap_or(u32::MAX);
                        if Instant::now() < due {
                            tokio::time::sleep_until(due.into()).await;
                            if stopped() {
                                break;
                            }
                            Instant::now()
                        } else {
                            due
                        }
                    }
                    None => Instant::now(),
                };
                let reply = connection.send(&call).await?;
                latencies.push(due.elapsed());
                *statuses.entry(reply.status.as_u16()).or_default() += 1;
                if reply.status != expect {
                    unexpected += 1;
                    first_unexpected.get_or_insert(reply);
                }
            }
            Ok::<_, Error>((latencies, statuses, unexpected, first_unexpected))
        }));
    }
    let mut outcome = LoadOutcome {
        sent: 0,
        unexpected: 0,
        first_unexpected: None,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
        statuses: BTreeMap::new(),
    };
    for worker in workers {
        let (latencies, statuses, unexpected, first_unexpected) = worker
            .await
            .map_err(|e| Error::new(ErrorKind::Io, format!("bench client task failed: {e}")))??;
        outcome.latencies.extend(latencies);
        for (status, count) in statuses {
            *outcome.statuses.entry(status).or_default() += count;
        }
        outcome.unexpected += unexpected;
        if outcome.first_unexpected.is_none() {
            outcome.first_unexpected = first_unexpected;
        }
    }
    outcome.elapsed = started.elapsed();
    outcome.sent = outcome.latencies.len();
    outcome.latencies.sort_unstable();
    Ok(outcome)
}
