//! A server that closes a connection without answering (as one may close a keep-alive
//! connection just as it is reused): a read is sent once more and passes; a write is not, and
//! its step fails with the transport error.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::support::{self, RepoCopy, path_str};

/// Serves `/healthz` over raw HTTP/1.1 on a thread: the first connection is read and closed
/// with no answer, every later one gets a healthy answer with the correlation id echoed.
fn closes_first_connection() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let seen = connections.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let first = seen.fetch_add(1, Ordering::SeqCst) == 0;
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (mut correlation, mut length) = (String::new(), 0usize);
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let Some((name, value)) = line.split_once(':') else {
                    continue;
                };
                match name.to_ascii_lowercase().as_str() {
                    "x-correlation-id" => value.trim().clone_into(&mut correlation),
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    _ => {}
                }
            }
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            if first {
                continue; // dropped: closed without a byte of answer
            }
            let answer = format!(
                r#"{{"correlation_id":"{correlation}","ok":true,"store":{{"backend":"memory","path":"-"}},"summary":{{}}}}"#
            );
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-correlation-id: {correlation}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            );
        }
    });
    (url, connections)
}

#[test]
fn a_read_that_got_no_answer_is_sent_once_more() {
    let (url, connections) = closes_first_connection();
    let repo = RepoCopy::new();
    repo.write(
        "milestones/HEALTH.yaml",
        &support::health_milestone("HEALTH", "", "true"),
    );
    let run = support::verify(&[
        path_str(&repo.path("milestones/HEALTH.yaml")),
        "--base-url",
        &url,
        "--out",
        path_str(&repo.path("out")),
    ]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    run.assert_printed("PASS  step  health/health");
    assert!(connections.load(Ordering::SeqCst) >= 2);
}
