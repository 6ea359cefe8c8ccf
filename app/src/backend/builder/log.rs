//! A build's output on its way to the database: lines are gathered into chunks, written
//! every quarter second or 64 KB, read for progress (`STEP n/m`) and for the failure
//! reasons Kiln can name. Nothing else is taken from the log: any package can print into it.

use std::time::{Duration, Instant};

use super::BuildFailure;
use crate::backend::Db;
use crate::backend::builds::{self, FailReason};

use super::lines::MAX_LINE;

const FLUSH_BYTES: usize = 64 * 1024;
const FLUSH_EVERY: Duration = Duration::from_millis(250);

pub struct LogWriter {
    db: Db,
    build_id: i64,
    seq: i64,
    buffer: String,
    last_flush: Instant,
    step: i64,
    reason: Option<FailReason>,
    /// Where the log stands in its source (a Kubernetes log timestamp), stored with the
    /// chunk that ends there.
    cursor: Option<String>,
    /// Bytes the stored log may hold, and how many it holds (written and gathered).
    limit: u64,
    size: u64,
    /// The limit was reached: the note saying so is written, nothing more is stored.
    capped: bool,
}

impl LogWriter {
    /// A writer adding to what a build's log holds already (a build taken over by a new
    /// leader); the stored log ends with a note once it holds `limit` bytes.
    pub async fn continuing(db: Db, build_id: i64, limit: u64) -> crate::backend::Result<Self> {
        let seq = builds::last_log_seq(&db, build_id).await?;
        let size = builds::log_size(&db, build_id).await?;
        Ok(Self::after(db, build_id, seq, limit, size))
    }

    fn after(db: Db, build_id: i64, seq: i64, limit: u64, size: u64) -> Self {
        LogWriter {
            limit,
            size,
            capped: size >= limit,
            db,
            build_id,
            seq,
            buffer: String::new(),
            last_flush: Instant::now(),
            step: 0,
            reason: None,
            cursor: None,
        }
    }

    /// Adds one line of output (without its newline).
    pub async fn line(&mut self, line: &str) {
        // A carriage return redraws a terminal line: keep what it would show last.
        let line = line
            .rsplit('\r')
            .find(|part| !part.is_empty())
            .unwrap_or_default();
        let line = cut(line);
        self.read(line).await;
        if self.capped {
            return;
        }
        let length = line.len() as u64 + 1;
        if self.size + length > self.limit {
            self.capped = true;
            let note = format!(
                "[kiln] The log reached its limit of {} bytes (KILN_BUILD_LOG_LIMIT) here; \
                 the rest of this build's output is not stored.",
                self.limit
            );
            self.buffer.push_str(&note);
            self.buffer.push('\n');
            self.flush().await;
            return;
        }
        self.size += length;
        self.buffer.push_str(line);
        self.buffer.push('\n');
        if self.buffer.len() >= FLUSH_BYTES || self.last_flush.elapsed() >= FLUSH_EVERY {
            self.flush().await;
        }
    }

    /// Adds one line that stands at `cursor` in its source: after a hand-over, the log goes
    /// on from the cursor stored last.
    pub async fn line_at(&mut self, line: &str, cursor: &str) {
        self.cursor = Some(cursor.to_owned());
        self.line(line).await;
    }

    /// A line Kiln itself writes into the log, marked as Kiln's.
    pub async fn note(&mut self, text: &str) {
        self.line(&format!("[kiln] {text}")).await;
    }

    async fn read(&mut self, line: &str) {
        if let Some(step) = step_of(line).filter(|step| *step != self.step) {
            self.step = step;
            if let Err(e) = builds::set_step(&self.db, self.build_id, step).await {
                tracing::warn!(build = self.build_id, error = %e, "could not record a build step");
            }
        }
        if self.reason.is_none() {
            self.reason = reason_of(line.trim());
        }
    }

    /// Writes what is gathered so far.
    pub async fn flush(&mut self) {
        self.last_flush = Instant::now();
        if self.buffer.is_empty() {
            return;
        }
        self.seq += 1;
        let text = std::mem::take(&mut self.buffer);
        let mut stored = builds::append_log(&self.db, self.build_id, self.seq, &text).await;
        if stored.is_err() {
            // The chunk number may have been taken meanwhile (a replica that was still
            // leading a moment ago wrote to this log): append after the last chunk.
            if let Ok(last) = builds::last_log_seq(&self.db, self.build_id).await {
                self.seq = last + 1;
                stored = builds::append_log(&self.db, self.build_id, self.seq, &text).await;
            }
        }
        match stored {
            Err(e) => {
                tracing::error!(build = self.build_id, error = %e, "could not store build log");
                // Not stored: a new leader must read these lines again.
                self.cursor = None;
            }
            Ok(()) => {
                if let Some(cursor) = self.cursor.take()
                    && let Err(e) = builds::set_log_cursor(&self.db, self.build_id, &cursor).await
                {
                    tracing::warn!(build = self.build_id, error = %e, "could not store the log's cursor");
                }
            }
        }
    }

    /// How a builder that exited with `code` failed: for the reason its output named, if
    /// it named one.
    pub fn exit_failure(&self, code: i32) -> BuildFailure {
        BuildFailure::exited(self.reason.unwrap_or(FailReason::Build), code)
    }

    pub async fn close(mut self) {
        self.flush().await;
    }
}

fn cut(line: &str) -> &str {
    if line.len() <= MAX_LINE {
        return line;
    }
    let mut end = MAX_LINE;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    &line[..end]
}

/// `STEP 3/8: RUN …` (buildah) or `#7 [3/8] RUN …` (BuildKit): the step number. A
/// BuildKit step's own output (`#7 0.53 Get:1 … [1/2]`) is not a step.
pub fn step_of(line: &str) -> Option<i64> {
    let rest = line.strip_prefix("STEP ").or_else(|| {
        let (_, vertex) = line.strip_prefix('#')?.split_once(' ')?;
        vertex.strip_prefix('[')
    })?;
    let (n, _) = rest.split_once('/')?;
    n.trim().parse().ok()
}

/// The failure reasons that show in build output. Step headers are skipped: they echo the
/// step's script, markers and all.
pub fn reason_of(line: &str) -> Option<FailReason> {
    if step_of(line).is_some() {
        None
    } else if line.starts_with("kiln-error: no-apt:") {
        Some(FailReason::NoApt)
    } else if line.starts_with("kiln-error: no-conda:") {
        Some(FailReason::NoConda)
    } else if line.starts_with("kiln-error: no-python:") {
        Some(FailReason::NoPython)
    } else if [
        "Unable to locate package",
        "has no installation candidate",
        "No matching distribution found",
        "PackagesNotFoundError",
        "nothing provides",
        "Version '",
    ]
    .iter()
    .any(|needle| line.contains(needle))
    {
        Some(FailReason::PackageNotFound)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_read_from_buildah_and_buildkit_output() {
        assert_eq!(step_of("STEP 3/8: RUN set -eu;"), Some(3));
        assert_eq!(step_of("#7 [4/8] RUN set -eu"), Some(4));
        assert_eq!(step_of("Get:1 http://deb.debian.org [1/2]"), None);
        assert_eq!(step_of("#7 0.532 Get:1 http://deb.debian.org [1/2]"), None);
        assert_eq!(step_of("#3 [internal] load metadata"), None);
        assert_eq!(step_of("STEP x/8"), None);
    }

    #[test]
    fn failure_reasons_are_read_from_output() {
        assert_eq!(
            reason_of("E: Unable to locate package nosuchpkg"),
            Some(FailReason::PackageNotFound)
        );
        assert_eq!(
            reason_of("ERROR: No matching distribution found for nosuch==1"),
            Some(FailReason::PackageNotFound)
        );
        assert_eq!(
            reason_of("kiln-error: no-apt: the base image has no apt-get"),
            Some(FailReason::NoApt)
        );
        assert_eq!(
            reason_of("kiln-error: no-conda: …"),
            Some(FailReason::NoConda)
        );
        assert_eq!(reason_of("Setting up curl (7.88.1-10)"), None);
        assert_eq!(
            reason_of(
                "STEP 4/8: RUN set -eu; echo \"kiln-error: no-apt: the base image has no apt-get\""
            ),
            None,
            "the step header echoes the script"
        );
    }

    #[tokio::test]
    async fn a_chunk_number_taken_meanwhile_is_skipped_and_nothing_is_lost() {
        use crate::backend::builds::testing;
        let db = crate::backend::db::testing::fresh_db().await;
        let (build, mut log) = testing::logged_build(&db, u64::MAX).await;
        // Another writer (the previous leader, a moment before it stepped down) takes 1.
        builds::append_log(&db, build.id, 1, "from the previous leader\n")
            .await
            .unwrap();
        log.line_at("from the new leader", "2026-11-27T12:00:01Z")
            .await;
        log.close().await;
        assert_eq!(
            builds::full_log(&db, build.id).await.unwrap(),
            "from the previous leader\nfrom the new leader\n"
        );
        assert_eq!(
            builds::get(&db, build.id).await.unwrap().log_cursor,
            "2026-11-27T12:00:01Z"
        );
    }

    #[tokio::test]
    async fn a_log_past_its_limit_ends_with_a_note_and_stores_nothing_more() {
        use crate::backend::builds::testing;
        let db = crate::backend::db::testing::fresh_db().await;
        let limit = 10_000;
        let (build, mut log) = testing::logged_build(&db, limit).await;
        for i in 0..2_000 {
            log.line(&format!("line {i:04} of a chatty build")).await;
        }
        // Lines after the cap are still read: the step and the failure reason follow them.
        log.line("STEP 5/8: RUN pip").await;
        assert_eq!(log.step, 5);
        log.close().await;
        let stored = builds::full_log(&db, build.id).await.unwrap();
        let (kept, note) = stored.trim_end().rsplit_once('\n').unwrap();
        assert!(kept.len() as u64 <= limit, "{}", kept.len());
        assert!(kept.ends_with("of a chatty build"));
        assert!(note.contains("limit of 10000 bytes"), "{note}");

        // A new leader continuing the log knows it is full.
        let mut again = LogWriter::continuing(db.clone(), build.id, limit)
            .await
            .unwrap();
        again.line("more from the new leader").await;
        again.close().await;
        assert_eq!(builds::full_log(&db, build.id).await.unwrap(), stored);
    }

    #[test]
    fn very_long_lines_are_cut_on_a_character_boundary() {
        let long = "é".repeat(MAX_LINE);
        let cut = cut(&long);
        assert!(cut.len() <= MAX_LINE && cut.len() >= MAX_LINE - 1);
    }
}
