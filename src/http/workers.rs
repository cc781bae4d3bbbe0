//! The domains' background workers, run beside the server: each on a thread of its own,
//! started before the first request is accepted, told to stop when shutdown begins and joined
//! before the store closes, so that a worker never outlives the store it writes to.

use std::sync::Arc;

use crate::api::{StopSignal, WorkerContext};
use crate::error::{Error, ErrorKind};

use super::Runtime;

pub(super) struct Workers {
    stop: Arc<StopSignal>,
    threads: Vec<(String, std::thread::JoinHandle<()>)>,
}

impl Workers {
    pub(super) fn start(runtime: &Runtime) -> Result<Workers, Error> {
        let stop = Arc::new(StopSignal::default());
        let mut threads = Vec::new();
        for domain in runtime.env.domains {
            for worker in (domain.workers)(&runtime.env) {
                let context = WorkerContext::new(
                    runtime.store.clone(),
                    runtime.env.clock.clone(),
                    stop.clone(),
                    runtime.instance,
                );
                let name = format!("{}-{}", domain.name, worker.name);
                if let Some(before_serving) = worker.before_serving {
                    // On a thread of its own: `run` calls this from an async task, whose
                    // thread must not block on a database.
                    crate::store::off_async(|| before_serving(&context))
                        .unwrap_or_else(|_| Err("it panicked".to_owned()))
                        .map_err(|problem| {
                            Error::new(
                                ErrorKind::Store,
                                format!("starting worker {name}: {problem}"),
                            )
                        })?;
                }
                let thread_name = name.clone();
                let thread = std::thread::Builder::new()
                    .name(name.clone())
                    .spawn(move || {
                        background_priority(&thread_name);
                        (worker.run)(context);
                    })
                    .map_err(|e| {
                        Error::new(ErrorKind::Io, format!("starting worker {name}: {e}"))
                            .with_source(e)
                    })?;
                threads.push((name, thread));
            }
        }
        Ok(Workers { stop, threads })
    }

    /// Tells every worker to stop and waits for each to return.
    pub(super) async fn stop(self) {
        self.stop.stop();
        for (name, thread) in self.threads {
            let joined = tokio::task::spawn_blocking(move || thread.join()).await;
            if !matches!(joined, Ok(Ok(()))) {
                tracing::error!(worker = %name, "a background worker panicked");
            }
        }
    }
}

/// Background work gives way to requests: the worker's thread, and every thread it starts
/// (which inherit it), runs at the lowest normal priority (nice 19 on Linux), so that workers
/// busy on every core still leave a request's thread the processor as soon as it wakes.
fn background_priority(name: &str) {
    use thread_priority::{ThreadPriority, set_current_thread_priority};
    if let Err(error) = set_current_thread_priority(ThreadPriority::Min) {
        tracing::warn!(worker = %name, error = ?error, "could not lower the worker's priority");
    }
}
