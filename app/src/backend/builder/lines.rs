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
    line: Vec<u8>,
}

impl<R: AsyncBufRead + Unpin> BoundedLines<R> {
    pub fn new(reader: R, max: usize) -> Self {
        BoundedLines {
            reader,
            max,
            line: Vec::new(),
        }
    }

    /// The next line without its newline, or `None` at the end.
    pub async fn next_line(&mut self) -> std::io::Result<Option<String>> {
        self.line.clear();
        let mut read_any = false;
        loop {
            let available = self.reader.fill_buf().await?;
            if available.is_empty() {
                return Ok(read_any.then(|| self.take()));
            }
            read_any = true;
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
        String::from_utf8_lossy(&self.line).into_owned()
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

    #[tokio::test]
    async fn bytes_that_are_not_utf8_are_replaced() {
        let input: &[u8] = b"caf\xe9\n";
        let mut lines = BoundedLines::new(input, MAX_LINE);
        assert_eq!(lines.next_line().await.unwrap().unwrap(), "caf\u{fffd}");
    }
}
