//! Reading a change counter from the database for many requests at once, without ever
//! answering with a value older than the request.
//!
//! A launch page's request must see every write committed before it arrived, so it needs a
//! read of the counter that *started after it arrived*. Under load, many requests arrive
//! while one read is running: they all wait for the next read, which one of them starts,
//! and share its value. Reads are serialised, so the database answers about one read per
//! read-latency however many requests there are, and no request is answered from a read that
//! began before it arrived.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Mutex;

use super::Result;

#[derive(Debug, Default)]
pub struct SharedCounter {
    /// How many reads have started.
    started: AtomicU64,
    /// The newest completed read: its start number and the value it read.
    last: Mutex<(u64, i64)>,
}

impl SharedCounter {
    /// The counter as of a read that started after this call; `read` asks the database.
    pub async fn current<F, Fut>(&self, read: F) -> Result<i64>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<i64>>,
    {
        let arrived = self.started.load(Ordering::SeqCst);
        let mut last = self.last.lock().await;
        if last.0 > arrived {
            // A read began after this request arrived and has finished: it is fresh enough.
            return Ok(last.1);
        }
        let number = self.started.fetch_add(1, Ordering::SeqCst) + 1;
        let value = read().await?;
        *last = (number, value);
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::AtomicI64;
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
}
