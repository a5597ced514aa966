//! The one place requests are sent, and what they answered. Every answer is
//! checked against the OpenAPI document before a test sees it.

use std::fmt;
use std::marker::PhantomData;
use std::ops::Deref;

use reqwest::header::{HeaderMap, CONTENT_TYPE};
use reqwest::{RequestBuilder, StatusCode};
use roster_server::error::Problem;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::openapi;

/// What a request answered.
pub struct Answer {
    /// `METHOD /path?query`, for messages.
    pub request: String,
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body as JSON; a body that is not JSON as a string; no body as null.
    pub body: Value,
    pub text: String,
}

/// Sends `request` and checks the answer against the OpenAPI document: a
/// status the operation does not document, or a body its schema does not
/// describe, fails the test here.
pub async fn send(request: RequestBuilder) -> Answer {
    let (client, request) = request.build_split();
    let request = request.unwrap();
    let method = request.method().clone();
    let url = request.url().clone();
    let line = match url.query() {
        Some(query) => format!("{method} {}?{query}", url.path()),
        None => format!("{method} {}", url.path()),
    };
    let response = client
        .execute(request)
        .await
        .unwrap_or_else(|e| panic!("{line}: {e}"));
    let status = response.status();
    let headers = response.headers().clone();
    let text = response
        .text()
        .await
        .unwrap_or_else(|e| panic!("{line}: {e}"));
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    if let Err(mismatch) = openapi::check(&method, url.path(), status, content_type, &text) {
        panic!("{line} answered {status}, which the OpenAPI document does not describe:\n{mismatch}\nbody: {text}");
    }
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone()))
    };
    Answer {
        request: line,
        status,
        headers,
        body,
        text,
    }
}

impl fmt::Debug for Answer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} → {} {}", self.request, self.status, self.text)
    }
}

impl Answer {
    /// The problem document's `code`, or "" when there is none.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    pub fn assert_status(&self, status: StatusCode, what: &str) {
        assert_eq!(self.status, status, "{what}: {self:?}");
    }

    /// The body as the server's type `T`, after asserting `status`.
    pub fn read<T: DeserializeOwned>(&self, status: StatusCode, what: &str) -> T {
        self.assert_status(status, what);
        self.typed(what)
    }

    /// The body as the server's type `T`.
    pub fn typed<T: DeserializeOwned>(&self, what: &str) -> T {
        serde_json::from_value(self.body.clone()).unwrap_or_else(|e| {
            panic!(
                "{what}: the body is not a {}: {e}\n{self:?}",
                std::any::type_name::<T>()
            )
        })
    }

    /// The problem document, after asserting its status and `code`.
    pub fn problem(&self, status: StatusCode, code: &str, what: &str) -> Problem {
        assert_eq!(
            (self.status, self.code()),
            (status, code),
            "{what}: {self:?}"
        );
        self.typed(what)
    }

    /// `X-Roster-Revision`: the organization's revision after a write.
    pub fn revision(&self) -> i64 {
        self.header("x-roster-revision")
            .parse()
            .unwrap_or_else(|e| panic!("X-Roster-Revision: {e}: {self:?}"))
    }

    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header: {self:?}"))
            .to_str()
            .unwrap()
    }
}

/// The answer of one operation of the typed client: its success is a `T`
/// with status `success`, anything else a problem document.
pub struct Reply<T> {
    answer: Answer,
    success: StatusCode,
    kind: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> Reply<T> {
    pub fn new(answer: Answer, success: StatusCode) -> Self {
        Reply {
            answer,
            success,
            kind: PhantomData,
        }
    }

    /// The typed answer, asserting the operation's success status.
    pub fn ok(&self, what: &str) -> T {
        self.answer.read(self.success, what)
    }

    pub fn into_answer(self) -> Answer {
        self.answer
    }
}

impl<T> Deref for Reply<T> {
    type Target = Answer;

    fn deref(&self) -> &Answer {
        &self.answer
    }
}

impl<T> fmt::Debug for Reply<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.answer.fmt(f)
    }
}
