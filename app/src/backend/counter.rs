//! Reading a change counter from the database for many requests at once, never answering
//! with a value older than the request allows.
//!
//! A request may be answered from a read of the counter that started at most
//! `max_staleness` before it arrived (none older), and never from a read that started
//! before this replica last answered a request that may have written
//! ([`SharedCounter::written`]): this replica's own changes are seen at once, other
//! replicas' (and its background tasks') within `max_staleness`. A staleness of zero asks
//! for a read started after the request arrived.
//!
//! When no read is recent enough, the requests arriving wait for the next read, which one
//! of them starts, and share its value: reads are serialised, so the database answers at
//! most one read per read-latency however many requests there are. Waiting requests are
//! woken together when a read ends, and a read whose request is dropped midway lets the
//! next waiter read instead.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use super::Result;

#[derive(Debug, Default)]
pub struct SharedCounter {
    state: Mutex<State>,
    /// Told when a read ends, well or not.
    ended: Notify,
    /// How long before a request a read may have started and still answer it.
    max_staleness: Duration,
}

#[derive(Debug, Default)]
struct State {
    /// How many reads have started.
    started: u64,
    /// The newest successful read: its start number, when it started, the value it read.
    last: Option<(u64, Instant, i64)>,
    /// Whether a read is under way.
    reading: bool,
    /// Reads numbered up to this one started before this replica's last write.
    written_after: u64,
}

impl SharedCounter {
    /// Answers requests from reads begun at most `max_staleness` before they arrived.
    pub fn new(max_staleness: Duration) -> SharedCounter {
        SharedCounter {
            max_staleness,
            ..SharedCounter::default()
        }
    }

    /// A request that may have written was answered: no read started before now answers
    /// another request.
    pub fn written(&self) {
        let mut state = self.lock();
        state.written_after = state.started;
    }

    /// The counter as of a read recent enough for a request arriving now; `read` asks
    /// the database.
    pub async fn current<F, Fut>(&self, read: F) -> Result<i64>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<i64>>,
    {
        let arrived = Instant::now();
        let before_arrival = self.lock().started;
        let oldest = arrived.checked_sub(self.max_staleness);
        let mut read = Some(read);
        loop {
            // Listening before looking, so an end between the two is not missed.
            let ended = self.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            let number = {
                let mut state = self.lock();
                match state.last {
                    // A read began after this request arrived and has ended: fresh enough;
                    // or one began since this replica's last write, not too long before.
                    Some((number, at, value))
                        if number > before_arrival
                            || (number > state.written_after
                                && oldest.is_none_or(|oldest| at >= oldest)) =>
                    {
                        return Ok(value);
                    }
                    _ if state.reading => None,
                    _ => {
                        state.reading = true;
                        state.started += 1;
                        Some(state.started)
                    }
                }
            };
            let Some(number) = number else {
                ended.await;
                continue;
            };
            // This request reads; it starts at most one read, as it returns after it.
            let read = read.take().expect("a request reads once");
            let mut reading = Reading {
                counter: self,
                number,
                at: Instant::now(),
                value: None,
            };
            let value = read().await?;
            reading.value = Some(value);
            return Ok(value);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A read under way: when it ends (with a value, an error, or its request dropped), the
/// next read may start and the waiting requests look again.
struct Reading<'a> {
    counter: &'a SharedCounter,
    number: u64,
    at: Instant,
    value: Option<i64>,
}

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        {
            let mut state = self.counter.lock();
            state.reading = false;
            if let Some(value) = self.value {
                state.last = Some((self.number, self.at, value));
            }
        }
        self.counter.ended.notify_waiters();
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_request_gets_a_value_read_before_it_arrived_and_waiting_requests_share_reads() {
        let counter = Arc::new(SharedCounter::default());
        let stored = Arc::new(AtomicI64::new(0));
        let reads = Arc::new(AtomicU64::new(0));
        let read = |stored: Arc<AtomicI64>, reads: Arc<AtomicU64>| async move {
            reads.fetch_add(1, Ordering::SeqCst);
            let value = stored.load(Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(value)
        };
        // A slow read of value 0 is under way when the counter changes to 1.
        let first = {
            let (counter, stored, reads) = (counter.clone(), stored.clone(), reads.clone());
            tokio::spawn(async move { counter.current(|| read(stored, reads)).await })
        };
        tokio::time::sleep(Duration::from_millis(5)).await;
        stored.store(1, Ordering::SeqCst);
        // Requests arriving now must not get the 0 of the read that began before them.
        let waiting: Vec<_> = (0..20)
            .map(|_| {
                let (counter, stored, reads) = (counter.clone(), stored.clone(), reads.clone());
                tokio::spawn(async move { counter.current(|| read(stored, reads)).await })
            })
            .collect();
        assert_eq!(first.await.unwrap().unwrap(), 0);
        for w in waiting {
            assert_eq!(
                w.await.unwrap().unwrap(),
                1,
                "a value read after it arrived"
            );
        }
        assert_eq!(
            reads.load(Ordering::SeqCst),
            2,
            "the 20 waiting requests shared one read"
        );
    }

    #[tokio::test]
    async fn a_recent_read_answers_until_it_is_too_old_or_this_replica_wrote() {
        let stored = Arc::new(AtomicI64::new(0));
        let reads = Arc::new(AtomicU64::new(0));
        let read = || {
            let (stored, reads) = (stored.clone(), reads.clone());
            async move {
                reads.fetch_add(1, Ordering::SeqCst);
                Ok(stored.load(Ordering::SeqCst))
            }
        };
        // Another replica's change is seen once the last read is older than allowed.
        let counter = SharedCounter::new(Duration::from_secs(1));
        assert_eq!(counter.current(read).await.unwrap(), 0);
        stored.store(1, Ordering::SeqCst);
        assert_eq!(
            counter.current(read).await.unwrap(),
            0,
            "a recent read answers"
        );
        assert_eq!(reads.load(Ordering::SeqCst), 1, "without reading again");
        tokio::time::sleep(Duration::from_millis(1100)).await;
        assert_eq!(
            counter.current(read).await.unwrap(),
            1,
            "too old: read again"
        );
        assert_eq!(reads.load(Ordering::SeqCst), 2);

        // This replica's own write is seen at once, however recent the last read.
        let counter = SharedCounter::new(Duration::from_secs(3600));
        assert_eq!(counter.current(read).await.unwrap(), 1);
        stored.store(2, Ordering::SeqCst);
        counter.written();
        assert_eq!(
            counter.current(read).await.unwrap(),
            2,
            "read after the write"
        );
        assert_eq!(counter.current(read).await.unwrap(), 2);
        assert_eq!(
            reads.load(Ordering::SeqCst),
            4,
            "and that read answers the next"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_whose_request_is_dropped_or_fails_lets_a_waiting_request_read() {
        let counter = Arc::new(SharedCounter::default());
        // A read that never ends, its request dropped (the client went away) midway.
        let stuck = {
            let counter = counter.clone();
            tokio::spawn(async move {
                counter
                    .current(|| async {
                        std::future::pending::<()>().await;
                        Ok(0)
                    })
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        let waiting = {
            let counter = counter.clone();
            tokio::spawn(async move { counter.current(|| async { Ok(7) }).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "it waits for the read under way");
        stuck.abort();
        let value = tokio::time::timeout(Duration::from_secs(5), waiting)
            .await
            .expect("the waiting request read instead of waiting forever");
        assert_eq!(value.unwrap().unwrap(), 7);

        // A failed read: its request gets the error, the next one reads again.
        let failed = counter
            .current(|| async { Err(crate::backend::BackendError::Stale) })
            .await;
        assert!(failed.is_err());
        assert_eq!(counter.current(|| async { Ok(8) }).await.unwrap(), 8);
    }
}
