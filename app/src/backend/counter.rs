//! Reading a change counter from the database for many requests at once, without ever
//! answering with a value older than the request.
//!
//! A launch page's request must see every write committed before it arrived, so it needs a
//! read of the counter that *started after it arrived*. Under load, many requests arrive
//! while one read is running: they all wait for the next read, which one of them starts,
//! and share its value. Reads are serialised, so the database answers about one read per
//! read-latency however many requests there are, and no request is answered from a read that
//! began before it arrived.
//!
//! Waiting requests are woken together when a read ends (not handed a lock one after the
//! other), and a read whose request is dropped midway lets the next waiter read instead.

use std::sync::Mutex;

use tokio::sync::Notify;

use super::Result;

#[derive(Debug, Default)]
pub struct SharedCounter {
    state: Mutex<State>,
    /// Told when a read ends, well or not.
    ended: Notify,
}

#[derive(Debug, Default)]
struct State {
    /// How many reads have started.
    started: u64,
    /// The newest successful read: its start number and the value it read.
    last: Option<(u64, i64)>,
    /// Whether a read is under way.
    reading: bool,
}

impl SharedCounter {
    /// The counter as of a read that started after this call; `read` asks the database.
    pub async fn current<F, Fut>(&self, read: F) -> Result<i64>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<i64>>,
    {
        let arrived = self.lock().started;
        let mut read = Some(read);
        loop {
            // Listening before looking, so an end between the two is not missed.
            let ended = self.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            let number = {
                let mut state = self.lock();
                match state.last {
                    // A read began after this request arrived and has ended: fresh enough.
                    Some((number, value)) if number > arrived => return Ok(value),
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
    value: Option<i64>,
}

impl Drop for Reading<'_> {
    fn drop(&mut self) {
        {
            let mut state = self.counter.lock();
            state.reading = false;
            if let Some(value) = self.value {
                state.last = Some((self.number, value));
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
