//! Reading a builder's output line by line without trusting it: a line longer than
//! [`MAX_LINE`] bytes is cut there while it is read, and the rest of it, up to its newline,
//! is skipped without ever being held in memory. A build that prints gigabytes without a
//! newline costs Kiln at most one line's worth of memory.

use tokio::io::{AsyncBufRead, AsyncBufReadExt};

/// A log line is cut after this many bytes.
pub const MAX_LINE: usize = 16 * 1024;

/// The lines of `reader`, each at most `max` bytes (invalid UTF-8 replaced).
pub struct BoundedLines<R> {
    reader: R,
    max: usize,
    /// The line read so far: kept here, not in the future, so that a call dropped midway
    /// (a `select!` that took another branch) loses nothing.
    line: Vec<u8>,
    started: bool,
}

impl<R: AsyncBufRead + Unpin> BoundedLines<R> {
    pub fn new(reader: R, max: usize) -> Self {
        BoundedLines {
            reader,
            max,
            line: Vec::new(),
            started: false,
        }
    }

    /// The next line without its newline, or `None` at the end. Cancel safe: it may be
    /// dropped before it is ready and called again, as `tokio::select!` does.
    pub async fn next_line(&mut self) -> std::io::Result<Option<String>> {
        loop {
            let available = self.reader.fill_buf().await?;
            if available.is_empty() {
                return Ok(self.started.then(|| self.take()));
            }
            // From here to `consume` nothing awaits: the bytes taken and the line grown
            // are one step.
            self.started = true;
            let newline = available.iter().position(|&b| b == b'\n');
            let text = &available[..newline.unwrap_or(available.len())];
            let room = self.max.saturating_sub(self.line.len());
            self.line.extend_from_slice(&text[..room.min(text.len())]);
            let consumed = newline.map_or(available.len(), |i| i + 1);
            self.reader.consume(consumed);
            if newline.is_some() {
                return Ok(Some(self.take()));
            }
        }
    }

    fn take(&mut self) -> String {
        self.started = false;
        let line = String::from_utf8_lossy(&self.line).into_owned();
        self.line.clear();
        line
    }
}

#[cfg(test)]
mod tests {
    use std::pin::Pin;
    use std::task::{Context, Poll};

    use tokio::io::{AsyncRead, BufReader, ReadBuf};

    use super::*;

    /// An endless line: `len` bytes of `x` handed out in small reads, then "\nnext\n".
    struct Flood {
        left: usize,
        tail: &'static [u8],
        /// The most bytes asked for in one read: what a reader could hold at once.
        biggest_read: usize,
    }

    impl AsyncRead for Flood {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            self.biggest_read = self.biggest_read.max(buf.remaining());
            if self.left > 0 {
                let n = self.left.min(buf.remaining());
                buf.put_slice(&vec![b'x'; n]);
                self.left -= n;
            } else {
                let n = self.tail.len().min(buf.remaining());
                buf.put_slice(&self.tail[..n]);
                self.tail = &self.tail[n..];
            }
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn a_line_without_end_is_cut_while_read_and_the_next_line_comes_whole() {
        let flood = Flood {
            left: 64 * 1024 * 1024,
            tail: b"\nnext line\nlast without newline",
            biggest_read: 0,
        };
        let mut lines = BoundedLines::new(BufReader::with_capacity(8 * 1024, flood), MAX_LINE);
        let first = lines.next_line().await.unwrap().unwrap();
        assert_eq!(first.len(), MAX_LINE);
        assert!(
            lines.line.capacity() < 2 * MAX_LINE,
            "held no more than a line"
        );
        assert_eq!(lines.next_line().await.unwrap().unwrap(), "next line");
        assert_eq!(
            lines.next_line().await.unwrap().unwrap(),
            "last without newline"
        );
        assert_eq!(lines.next_line().await.unwrap(), None);
        let flood = lines.reader.into_inner();
        assert!(flood.biggest_read <= 8 * 1024, "{}", flood.biggest_read);
    }

    /// Hands out `data` a few bytes at a time, saying "not yet" before each piece.
    struct Trickle {
        data: Vec<u8>,
        at: usize,
        ready: bool,
    }

    impl AsyncRead for Trickle {
        fn poll_read(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<std::io::Result<()>> {
            if !self.ready {
                self.ready = true;
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            self.ready = false;
            let n = 1000.min(self.data.len() - self.at).min(buf.remaining());
            let at = self.at;
            buf.put_slice(&self.data[at..at + n]);
            self.at += n;
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn a_read_dropped_midway_loses_nothing() {
        let mut data = vec![b'x'; 40_000];
        data.extend_from_slice(b"\nok\n");
        let trickle = Trickle {
            data,
            at: 0,
            ready: false,
        };
        let mut lines = BoundedLines::new(BufReader::with_capacity(1000, trickle), MAX_LINE);
        let mut got = Vec::new();
        let mut dropped = 0;
        loop {
            // As the builder's loop does with stdout and stderr: another branch wins often.
            tokio::select! {
                biased;
                line = lines.next_line() => match line.unwrap() {
                    Some(line) => got.push(line),
                    None => break,
                },
                () = tokio::task::yield_now() => dropped += 1,
            }
        }
        assert!(dropped > 10, "the read was dropped midway {dropped} times");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].len(), MAX_LINE);
        assert!(got[0].bytes().all(|b| b == b'x'));
        assert_eq!(got[1], "ok");
    }

    #[tokio::test]
    async fn bytes_that_are_not_utf8_are_replaced() {
        let input: &[u8] = b"caf\xe9\n";
        let mut lines = BoundedLines::new(input, MAX_LINE);
        assert_eq!(lines.next_line().await.unwrap().unwrap(), "caf\u{fffd}");
    }
}
