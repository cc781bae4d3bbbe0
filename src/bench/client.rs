//! A small HTTP/1.1 load generator for loopback benchmarks: a fixed number of keep-alive
//! connections, each sending its requests one after the other, taking work from a shared
//! counter until the work or the time runs out. Built on hyper's client connection, so that
//! framing and keep-alive are hyper's, not ours.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
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
}

impl LoadOutcome {
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
    let calls = Arc::new(calls);
    let next = Arc::new(AtomicUsize::new(0));
    let mut opened = Vec::with_capacity(connections);
    for _ in 0..connections.max(1) {
        opened.push(Connection::open(addr).await?);
    }
    let started = Instant::now();
    let mut workers = Vec::with_capacity(opened.len());
    for mut connection in opened {
        let (calls, next) = (Arc::clone(&calls), Arc::clone(&next));
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let (mut unexpected, mut first_unexpected) = (0, None);
            loop {
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= count || started.elapsed() >= deadline {
                    break;
                }
                let call = calls(index);
                let sent_at = Instant::now();
                let reply = connection.send(&call).await?;
                latencies.push(sent_at.elapsed());
                if reply.status != expect {
                    unexpected += 1;
                    first_unexpected.get_or_insert(reply);
                }
            }
            Ok::<_, Error>((latencies, unexpected, first_unexpected))
        }));
    }
    let mut outcome = LoadOutcome {
        sent: 0,
        unexpected: 0,
        first_unexpected: None,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
    };
    for worker in workers {
        let (latencies, unexpected, first_unexpected) = worker
            .await
            .map_err(|e| Error::new(ErrorKind::Io, format!("bench client task failed: {e}")))??;
        outcome.latencies.extend(latencies);
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
