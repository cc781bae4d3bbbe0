//! The writers: write transactions run on a few threads of their own, taking them from one
//! queue, as many at once as the store can usefully run ([`crate::store::Store::writers`]).
//!
//! SQLite has one writer at a time anyway: one thread. Handing each write to a thread of its
//! own made the requests queue on the store's lock across threads, with a context switch for
//! each hand-over; one thread that takes the writes from a queue keeps the store's pages warm
//! and never contends. A database server runs many writers at once, each waiting on the
//! network most of the time: there, several threads. Reads still run on the blocking pool.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex, PoisonError, mpsc};

type Job = Box<dyn FnOnce() + Send>;

pub(crate) struct Writer {
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts `threads` writer threads (at least one).
    pub(crate) fn start(threads: usize) -> std::io::Result<Writer> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for _ in 0..threads.max(1) {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name("marketref-writer".to_owned())
                .spawn(move || {
                    loop {
                        // The lock is held only to take the next job, never while it runs.
                        let next = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
                        // Ends when the runtime, and with it the sender, is dropped.
                        let Ok(job) = next else { break };
                        job();
                    }
                })?;
        }
        Ok(Writer { jobs })
    }

    /// Runs `work` on the writer thread; `Err` carries a panic's message, and the writer goes on.
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, String> {
        let (answer, answered) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let outcome = catch_unwind(AssertUnwindSafe(work)).map_err(|panic| {
                panic
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a handler panicked".to_owned())
            });
            let _ = answer.send(outcome);
        });
        self.jobs
            .send(job)
            .map_err(|_| "the writer has stopped".to_owned())?;
        answered
            .await
            .unwrap_or_else(|_| Err("the writer dropped a job".to_owned()))
    }
}
