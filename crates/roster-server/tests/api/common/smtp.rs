#![allow(dead_code)]
//! A real SMTP receiver on loopback: speaks enough of RFC 5321 for lettre
//! and keeps every message it accepts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;

#[derive(Clone, Debug)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    pub data: String,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.data
            .lines()
            .take_while(|l| !l.is_empty())
            .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
            .map(|l| l[prefix.len()..].trim().to_owned())
    }
}

#[derive(Clone)]
pub struct SmtpReceiver {
    pub port: u16,
    messages: Arc<Mutex<Vec<Received>>>,
    arrived: Arc<Notify>,
    /// When set, a message is kept but never acknowledged: the sender hangs
    /// as if the network died after the data went out.
    stall: Arc<AtomicBool>,
}

impl SmtpReceiver {
    pub async fn start() -> SmtpReceiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let receiver = SmtpReceiver {
            port,
            messages: Arc::default(),
            arrived: Arc::default(),
            stall: Arc::default(),
        };
        let r = receiver.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let r = r.clone();
                tokio::spawn(async move {
                    let _ = r.session(stream).await;
                });
            }
        });
        receiver
    }

    async fn session(&self, stream: tokio::net::TcpStream) -> std::io::Result<()> {
        let (read, mut write) = stream.into_split();
        let mut lines = BufReader::new(read);
        write.write_all(b"220 roster-test ESMTP\r\n").await?;
        let (mut from, mut to) = (String::new(), Vec::new());
        let mut line = String::new();
        loop {
            line.clear();
            if lines.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let command = line.trim_end().to_owned();
            let upper = command.to_ascii_uppercase();
            let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                b"250 roster-test\r\n"
            } else if upper.starts_with("MAIL FROM:") {
                from = command[10..].trim().to_owned();
                to.clear();
                b"250 OK\r\n"
            } else if upper.starts_with("RCPT TO:") {
                to.push(
                    command[8..]
                        .trim()
                        .trim_matches(|c| c == '<' || c == '>')
                        .to_owned(),
                );
                b"250 OK\r\n"
            } else if upper == "DATA" {
                write.write_all(b"354 go ahead\r\n").await?;
                let mut data = String::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await? == 0 {
                        return Ok(());
                    }
                    if line == ".\r\n" || line == ".\n" {
                        break;
                    }
                    data.push_str(
                        line.strip_prefix('.')
                            .filter(|_| line.starts_with(".."))
                            .unwrap_or(&line),
                    );
                }
                self.messages.lock().unwrap().push(Received {
                    from: from.clone(),
                    to: to.clone(),
                    data: data.replace("\r\n", "\n"),
                });
                self.arrived.notify_waiters();
                if self.stall.load(Ordering::SeqCst) {
                    // Hold the connection until the sender goes away.
                    while lines.read_line(&mut line).await? > 0 {}
                    return Ok(());
                }
                b"250 queued\r\n"
            } else if upper == "QUIT" {
                write.write_all(b"221 bye\r\n").await?;
                return Ok(());
            } else {
                b"250 OK\r\n"
            };
            write.write_all(reply).await?;
        }
    }

    pub fn stall(&self, on: bool) {
        self.stall.store(on, Ordering::SeqCst);
    }

    /// Waits until at least `n` messages arrived (or panics after `limit`).
    pub async fn wait_for(&self, n: usize, limit: Duration) {
        tokio::time::timeout(limit, async {
            loop {
                let notified = self.arrived.notified();
                if self.messages.lock().unwrap().len() >= n {
                    return;
                }
                notified.await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("expected {n} messages within {limit:?}"));
    }

    pub fn messages(&self) -> Vec<Received> {
        self.messages.lock().unwrap().clone()
    }

    pub fn to(&self, recipient: &str) -> Vec<Received> {
        self.messages()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t == recipient))
            .collect()
    }
}
