//! JSON written as text and sent as it is written, for the answers that
//! can list a whole organization (every seat holder, every space an Owner
//! opens). At a million members such an answer is tens of megabytes.
//! Built whole, it would be a fresh buffer that the kernel faults in page
//! by page on every request, after serde's writer escaped it byte by byte.
//! Here it is written on a blocking thread (the walk over a million
//! members would hold up a worker) in pieces of [`PIECE`] bytes, each sent
//! while the next is written and then reused by the allocator, so the
//! client reads while the server writes and the server holds a few
//! pieces, not the answer. A client that stops reading for [`STALLED`]
//! loses the answer, and its thread is freed. Each use has a view type
//! with its shape, which the API tests read the answer back as.

use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use tokio::runtime::Handle;
use tokio::sync::mpsc;

use crate::error::ApiError;

/// How much is written before it is sent.
const PIECE: usize = 64 * 1024;
/// Pieces written ahead of what the connection has taken.
const AHEAD: usize = 4;
/// How long a written piece waits for the connection to take it.
const STALLED: Duration = Duration::from_secs(30);

pub struct JsonText {
    piece: Vec<u8>,
    sink: mpsc::Sender<Bytes>,
    runtime: Handle,
    stalled: Duration,
    /// False once the client has gone or stopped reading: the rest is not
    /// written.
    open: bool,
}

impl JsonText {
    /// A `200 application/json` answer that `write` writes on a blocking
    /// thread. Decide everything that could fail before: once the answer
    /// has started, it is sent whole, or cut short (the connection closed
    /// without the answer's end, never a shorter answer that looks whole).
    /// An answer that fits in one piece (most do) is sent as one body with
    /// its length.
    pub async fn stream(write: impl FnOnce(&mut JsonText) + Send + 'static) -> Response {
        Self::stream_waiting(STALLED, write).await
    }

    async fn stream_waiting(
        stalled: Duration,
        write: impl FnOnce(&mut JsonText) + Send + 'static,
    ) -> Response {
        let (sink, mut pieces) = mpsc::channel(AHEAD);
        let whole = Arc::new(AtomicBool::new(false));
        let written = Arc::clone(&whole);
        let runtime = Handle::current();
        let writer = tokio::task::spawn_blocking(move || {
            let mut json = JsonText {
                piece: Vec::with_capacity(PIECE),
                sink,
                runtime,
                stalled,
                open: true,
            };
            write(&mut json);
            json.send();
            written.store(json.open, Ordering::Release);
        });
        let Some(first) = pieces.recv().await else {
            // The writer sends at least its last piece, unless it failed.
            let failure = writer.await.err().map(|e| e.to_string());
            return ApiError::internal(failure.unwrap_or_else(|| "an empty answer".into()))
                .into_response();
        };
        let json = [(header::CONTENT_TYPE, "application/json")];
        // Only the last piece is shorter than a piece.
        if first.len() < PIECE {
            return (json, first).into_response();
        }
        let rest = futures_util::stream::unfold(Some(pieces), move |pieces| {
            let whole = Arc::clone(&whole);
            async move {
                let mut pieces = pieces?;
                match pieces.recv().await {
                    Some(piece) => Some((Ok(piece), Some(pieces))),
                    None if whole.load(Ordering::Acquire) => None,
                    None => Some((Err(std::io::Error::other("the answer was cut short")), None)),
                }
            }
        });
        let body = futures_util::stream::once(async { Ok(first) }).chain(rest);
        (json, Body::from_stream(body)).into_response()
    }

    fn send(&mut self) {
        if !self.open || self.piece.is_empty() {
            self.piece.clear();
            return;
        }
        let piece = std::mem::replace(&mut self.piece, Vec::with_capacity(PIECE));
        let sent = self
            .runtime
            .block_on(self.sink.send_timeout(Bytes::from(piece), self.stalled));
        self.open = sent.is_ok();
    }

    fn send_if_full(&mut self) {
        if self.piece.len() >= PIECE {
            self.send();
        }
    }

    /// Text that is JSON already (punctuation and keys).
    pub fn raw(&mut self, json: &str) -> &mut Self {
        self.piece.extend_from_slice(json.as_bytes());
        self.send_if_full();
        self
    }

    /// A number, or `null`.
    pub fn number(&mut self, number: Option<u32>) -> &mut Self {
        match number {
            Some(n) => {
                // Writing into a `Vec` cannot fail.
                let _ = write!(self.piece, "{n}");
                self.send_if_full();
                self
            }
            None => self.raw("null"),
        }
    }

    /// A string, quoted and escaped.
    pub fn string(&mut self, text: &str) -> &mut Self {
        let out = &mut self.piece;
        out.push(b'"');
        // Most strings need no escape: tell with one pass that does not
        // stop early (so it runs over whole words), then copy them whole.
        let plain = !text.bytes().fold(false, |escape, b| {
            escape | (b < 0x20) | (b == b'"') | (b == b'\\')
        });
        if plain {
            out.extend_from_slice(text.as_bytes());
        } else {
            for b in text.bytes() {
                match b {
                    b'"' => out.extend_from_slice(b"\\\""),
                    b'\\' => out.extend_from_slice(b"\\\\"),
                    0..0x20 => {
                        const HEX: &[u8; 16] = b"0123456789abcdef";
                        out.extend_from_slice(b"\\u00");
                        out.push(HEX[usize::from(b >> 4)]);
                        out.push(HEX[usize::from(b & 0xf)]);
                    }
                    _ => out.push(b),
                }
            }
        }
        out.push(b'"');
        self.send_if_full();
        self
    }

    /// An array of strings (no more of them once the client has gone).
    pub fn strings<'a>(&mut self, items: impl IntoIterator<Item = &'a str>) -> &mut Self {
        self.piece.push(b'[');
        for (i, item) in items.into_iter().enumerate() {
            if !self.open {
                break;
            }
            if i > 0 {
                self.piece.push(b',');
            }
            self.string(item);
        }
        self.raw("]")
    }
}

#[cfg(test)]
mod tests {
    use axum::body::HttpBody as _;

    use super::*;

    /// The ids a writer of the tests below may have written when it stops:
    /// a piece taken, the channel's, the one it could not send, and part of
    /// the next.
    fn most_written() -> usize {
        (AHEAD + 3) * PIECE / r#""an id of some length","#.len()
    }

    /// What an answer's client receives, and the length it was told.
    async fn received(write: impl FnOnce(&mut JsonText) + Send + 'static) -> (String, Option<u64>) {
        let answer = JsonText::stream(write).await;
        assert_eq!(answer.status(), 200);
        assert_eq!(answer.headers()[header::CONTENT_TYPE], "application/json");
        // What hyper writes as the `Content-Length`.
        let length = answer.body().size_hint().exact();
        let body = axum::body::to_bytes(answer.into_body(), usize::MAX)
            .await
            .unwrap_or_default();
        (String::from_utf8(body.to_vec()).unwrap_or_default(), length)
    }

    #[tokio::test]
    async fn strings_read_back_as_the_same_strings() {
        let items = [
            "u_0192",
            "",
            "quote \" and backslash \\",
            "line\nfeed, tab\t, bell\u{7}, unit separator\u{1f}",
            "ünïcödé ✓ and DEL \u{7f}",
        ];
        let (text, length) = received(move |json| {
            json.strings(items);
        })
        .await;
        let read: Vec<String> = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(read, items);
        assert_eq!(
            length,
            Some(text.len() as u64),
            "a short answer goes with its length"
        );
    }

    #[tokio::test]
    async fn an_answer_of_many_pieces_arrives_whole_and_in_order() {
        let ids: Vec<String> = (0..100_000).map(|i| format!("user-{i:07}")).collect();
        let sent = ids.clone();
        let (text, length) = received(move |json| {
            json.raw(r#"{"count":"#)
                .number(Some(sent.len() as u32))
                .raw(r#","none":"#)
                .number(None)
                .raw(r#","ids":"#)
                .strings(sent.iter().map(String::as_str))
                .raw("}");
        })
        .await;
        assert!(text.len() > 10 * PIECE, "{} bytes", text.len());
        assert_eq!(length, None, "a long answer is sent as it is written");
        let read: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(read["count"], 100_000);
        assert_eq!(read["none"], serde_json::Value::Null);
        assert_eq!(read["ids"], serde_json::json!(ids));
    }

    /// An answer of ten million ids (230 MB) whose writer waits `stalled`
    /// for a piece to be taken, and what it has written when it stops.
    async fn endless_answer(
        stalled: Duration,
    ) -> (Response, tokio::sync::oneshot::Receiver<usize>) {
        let (done, finished) = tokio::sync::oneshot::channel();
        let answer = JsonText::stream_waiting(stalled, move |json| {
            let mut pulled = 0usize;
            let ids = std::iter::repeat_n("an id of some length", 10_000_000).inspect(|_| {
                pulled += 1;
            });
            json.strings(ids);
            let _ = done.send(pulled);
        })
        .await;
        (answer, finished)
    }

    /// Waits for the writer to stop, and checks it stopped early.
    async fn stopped_early(finished: tokio::sync::oneshot::Receiver<usize>) {
        let pulled = finished.await.unwrap_or(usize::MAX);
        let at_most = most_written();
        assert!(
            pulled <= at_most,
            "{pulled} ids written, at most {at_most} expected"
        );
    }

    #[tokio::test]
    async fn a_client_that_goes_away_stops_the_writing() {
        let (answer, finished) = endless_answer(STALLED).await;
        drop(answer);
        // The writer fills the pieces the channel holds, finds no one to
        // send the next to, and stops: it does not write 230 MB for no one.
        stopped_early(finished).await;
    }

    #[tokio::test]
    async fn a_client_that_stops_reading_loses_the_answer_and_frees_the_writer() {
        let (answer, finished) = endless_answer(Duration::from_millis(50)).await;
        let mut body = answer.into_body().into_data_stream();
        assert!(matches!(body.next().await, Some(Ok(_))), "the first piece");
        // Nothing more is read until the writer has given up.
        stopped_early(finished).await;
        // The pieces written before still come, then the cut: the answer
        // never ends as if it were whole.
        let mut pieces = 1;
        let end = loop {
            match body.next().await {
                Some(Ok(_)) => pieces += 1,
                other => break other,
            }
        };
        assert!(
            matches!(end, Some(Err(_))),
            "after {pieces} pieces: {end:?}"
        );
        assert!(pieces <= AHEAD + 2, "{pieces} pieces");
    }
}
