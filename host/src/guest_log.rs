//! Guest stdout/stderr: captured per request (bounded), then written to
//! the host log with the tenant and request id, rate-limited per tenant so
//! a noisy guest cannot flood the log or the disk.

use std::collections::HashMap;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll};
use std::time::Instant;
use tokio::io::AsyncWrite;

/// Bytes of output kept per request; the rest is counted and dropped
/// (never an error for the guest).
const CAPTURE_BYTES: usize = 16 * 1024;
/// Lines per second each tenant may log, and the burst it may save up.
const LINES_PER_SEC: f64 = 50.0;
const BURST_LINES: f64 = 200.0;

/// One request's captured output (stdout and stderr share it).
#[derive(Clone, Default)]
pub struct Capture(Arc<Mutex<(Vec<u8>, usize)>>);

impl wasmtime_wasi::cli::IsTerminal for Capture {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl wasmtime_wasi::cli::StdoutStream for Capture {
    fn async_stream(&self) -> Box<dyn AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl AsyncWrite for Capture {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let mut inner = self.0.lock().expect("capture lock");
        let room = CAPTURE_BYTES.saturating_sub(inner.0.len()).min(buf.len());
        inner.0.extend_from_slice(&buf[..room]);
        inner.1 += buf.len() - room;
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl Capture {
    /// Logs what the guest wrote, one event per line, within the tenant's
    /// rate; lines over it (and bytes over the capture cap) are counted
    /// in one warning instead.
    pub fn flush_to_log(&self, tenant: &str, request_id: &str) {
        let (bytes, truncated) = std::mem::take(&mut *self.0.lock().expect("capture lock"));
        if bytes.is_empty() {
            return;
        }
        let text = String::from_utf8_lossy(&bytes);
        let mut dropped = 0;
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            if allow(tenant) {
                tracing::info!(target: "hostel::guest", tenant, request_id, "{line}");
            } else {
                dropped += 1;
            }
        }
        // The summary spends a token too, so a noisy tenant's summaries are
        // limited like its lines.
        if (dropped > 0 || truncated > 0) && allow(tenant) {
            tracing::warn!(target: "hostel::guest", tenant, request_id, dropped_lines = dropped, dropped_bytes = truncated, "guest output over the log limits");
        }
    }
}

/// Token bucket per tenant.
fn allow(tenant: &str) -> bool {
    static BUCKETS: OnceLock<Mutex<HashMap<String, (f64, Instant)>>> = OnceLock::new();
    let mut buckets = BUCKETS.get_or_init(Default::default).lock().expect("bucket lock");
    let now = Instant::now();
    let (tokens, last) = buckets.entry(tenant.to_owned()).or_insert((BURST_LINES, now));
    *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * LINES_PER_SEC).min(BURST_LINES);
    *last = now;
    if *tokens >= 1.0 {
        *tokens -= 1.0;
        true
    } else {
        false
    }
}
