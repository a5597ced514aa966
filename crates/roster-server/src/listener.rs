//! The listening socket, with one guard hyper cannot give us: a request
//! line whose target is longer than hyper accepts (65,534 bytes) gets a
//! problem document (414 `uri_too_long`) instead of hyper's empty answer.
//! The first request of each connection is checked as it arrives; the rest
//! of the connection passes through untouched.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};

/// hyper's longest request target.
const MAX_TARGET: usize = 65_534;
/// A request line is the target plus a method and a version.
const MAX_LINE: usize = MAX_TARGET + 64;
/// What a refused request may still send before the connection closes
/// (read and dropped, so the client reads the answer instead of a reset).
const DRAIN: usize = 1 << 20;

pub struct GuardedListener(pub TcpListener);

/// The client's address, for handlers (`ConnectInfo<ClientAddr>`).
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub SocketAddr);

impl Listener for GuardedListener {
    type Io = FirstLine<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, addr) = Listener::accept(&mut self.0).await;
        // An answer sent as it is written ends with a small last chunk:
        // held back for the client's delayed acknowledgement, it would
        // wait some 40 ms. Should the option not take, that is all it costs.
        let _ = stream.set_nodelay(true);
        (FirstLine::new(stream), addr)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.0.local_addr()
    }
}

impl Connected<IncomingStream<'_, GuardedListener>> for ClientAddr {
    fn connect_info(stream: IncomingStream<'_, GuardedListener>) -> Self {
        ClientAddr(*stream.remote_addr())
    }
}

enum State {
    /// Reading the first request line.
    Checking(Vec<u8>),
    /// Handing hyper what was read, from `at`, then the socket itself.
    Passing {
        read: Vec<u8>,
        at: usize,
    },
    /// Answering 414: writing the answer from `at`, then dropping what the
    /// client still sends (`drained` bytes so far, `tail` its last four).
    Refusing {
        answer: Vec<u8>,
        at: usize,
        drained: usize,
        tail: [u8; 4],
    },
    Closed,
}

pub struct FirstLine<S> {
    inner: S,
    state: State,
}

impl<S> FirstLine<S> {
    fn new(inner: S) -> Self {
        FirstLine {
            inner,
            state: State::Checking(Vec::new()),
        }
    }
}

/// Whether a request line (without its line end) has a target too long.
fn too_long(line: &[u8]) -> bool {
    let target = line
        .split(|b| *b == b' ')
        .nth(1)
        .map_or(line.len(), <[u8]>::len);
    target > MAX_TARGET
}

/// The last four bytes seen, or the end of the head when it was seen.
fn tail_of(read: &[u8]) -> [u8; 4] {
    const END: &[u8; 4] = b"\r\n\r\n";
    if read.windows(4).any(|w| w == END) {
        return *END;
    }
    let mut tail = [0; 4];
    let last = &read[read.len().saturating_sub(4)..];
    tail[4 - last.len()..].copy_from_slice(last);
    tail
}

fn refusal() -> Vec<u8> {
    let body = format!(
        r#"{{"type":"https://roster.dev/problems/uri_too_long","title":"URI Too Long","status":414,"detail":"the request target is longer than {MAX_TARGET} bytes","code":"uri_too_long"}}"#
    );
    format!(
        "HTTP/1.1 414 URI Too Long\r\ncontent-type: application/problem+json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for FirstLine<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        loop {
            match &mut this.state {
                State::Checking(read) => {
                    let mut chunk = [0u8; 8192];
                    let mut buf = ReadBuf::new(&mut chunk);
                    ready!(Pin::new(&mut this.inner).poll_read(cx, &mut buf))?;
                    let filled = buf.filled();
                    let end = filled.is_empty();
                    read.extend_from_slice(filled);
                    let line_end = read.iter().position(|b| *b == b'\n');
                    let refuse = match line_end {
                        Some(end) => too_long(&read[..end]),
                        None => read.len() > MAX_LINE,
                    };
                    if refuse {
                        this.state = State::Refusing {
                            answer: refusal(),
                            at: 0,
                            drained: read.len(),
                            tail: tail_of(read),
                        };
                    } else if line_end.is_some() || end {
                        let read = std::mem::take(read);
                        this.state = State::Passing { read, at: 0 };
                    }
                }
                State::Passing { read, at } => {
                    if *at < read.len() {
                        let n = out.remaining().min(read.len() - *at);
                        out.put_slice(&read[*at..*at + n]);
                        *at += n;
                        return Poll::Ready(Ok(()));
                    }
                    return Pin::new(&mut this.inner).poll_read(cx, out);
                }
                State::Refusing {
                    answer,
                    at,
                    drained,
                    tail,
                } => {
                    if *at < answer.len() {
                        let n = ready!(Pin::new(&mut this.inner).poll_write(cx, &answer[*at..]))?;
                        if n == 0 {
                            this.state = State::Closed;
                            continue;
                        }
                        *at += n;
                        continue;
                    }
                    ready!(Pin::new(&mut this.inner).poll_flush(cx))?;
                    if &tail[..] == b"\r\n\r\n" || *drained > DRAIN {
                        this.state = State::Closed;
                        continue;
                    }
                    let mut chunk = [0u8; 8192];
                    let mut buf = ReadBuf::new(&mut chunk);
                    ready!(Pin::new(&mut this.inner).poll_read(cx, &mut buf))?;
                    let filled = buf.filled();
                    if filled.is_empty() {
                        this.state = State::Closed;
                        continue;
                    }
                    *drained += filled.len();
                    for b in filled {
                        *tail = [tail[1], tail[2], tail[3], *b];
                        if &tail[..] == b"\r\n\r\n" {
                            break;
                        }
                    }
                }
                // End of input: hyper closes the connection.
                State::Closed => return Poll::Ready(Ok(())),
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for FirstLine<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
