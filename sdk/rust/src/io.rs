//! The edges (ABI 1.2): outbound HTTP and export statuses for exporters; the request and the
//! answer for receivers; `emit` for receivers and connectors.

use crate::services::read_sized;
use crate::{host, set_error, Error, Result, Signal};

/// Why `http_request` got no HTTP status (docs/abi.md, "Exporter plugins").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HttpError {
    /// -2: a bad method, URL or header line.
    Invalid,
    /// -3: an origin or address the plugin may not reach.
    Denied,
    /// -4: a cap (request or response size, concurrent requests) or no time left.
    Limit,
    /// -5: no response (refused, reset, TLS, the deadline).
    Failed,
    /// Another negative code.
    Other(i32),
}

impl HttpError {
    fn from_code(rc: i32) -> HttpError {
        match rc {
            -2 => HttpError::Invalid,
            -3 => HttpError::Denied,
            -4 => HttpError::Limit,
            -5 => HttpError::Failed,
            other => HttpError::Other(other),
        }
    }
}

/// The answer to `http_request`: its status; headers and body are read on demand (until
/// the next request).
#[derive(Clone, Copy, Debug)]
pub struct Response {
    pub status: i32,
}

impl Response {
    /// A header of the response (name without case).
    pub fn header(&self, name: &str) -> Option<String> {
        read_sized(|out, cap| unsafe { host::http_response_header(name.as_ptr(), name.len() as i32, out, cap) })
            .ok()
            .map(|v| String::from_utf8_lossy(&v).into_owned())
    }
    /// The response's body (empty if it had none).
    pub fn body(&self) -> Vec<u8> {
        read_sized(|out, cap| unsafe { host::http_response_body(out, cap) }).unwrap_or_default()
    }
}

/// One outbound request made by weft: `url` is a path relative to the exporter's
/// `endpoint` or an absolute URL of an allowed origin; weft adds the configured headers,
/// auth and compression, and bounds it by the call's deadline.
pub fn http_request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> core::result::Result<Response, HttpError> {
    let mut lines = String::new();
    for (name, value) in headers {
        lines.push_str(name);
        lines.push_str(": ");
        lines.push_str(value);
        lines.push('\n');
    }
    let rc = unsafe {
        host::http_request(
            method.as_ptr(),
            method.len() as i32,
            url.as_ptr(),
            url.len() as i32,
            lines.as_ptr(),
            lines.len() as i32,
            body.as_ptr(),
            body.len() as i32,
        )
    };
    if rc < 0 {
        Err(HttpError::from_code(rc))
    } else {
        Ok(Response { status: rc })
    }
}

/// What an export did with the batch; the SDK turns it into the ABI's status.
#[derive(Clone, Debug, PartialEq)]
pub enum Export {
    /// Sent: weft counts the batch's items as sent.
    Sent,
    /// Retry the same batch later (with backoff), not before `after_ms` if given.
    Retryable { after_ms: Option<i64>, reason: String },
    /// Dropped and counted as failed, with the reason in weft's log.
    Permanent(String),
    /// Sent, but the destination refused `rejected` of the batch's items.
    Partial { rejected: i64, reason: String },
}

impl Export {
    /// What an HTTP answer usually means: 2xx sent; 429, 502, 503, 504 and no response
    /// retryable (after the response's Retry-After seconds); anything else permanent.
    /// `who` starts the reason ("prometheusremotewrite: the destination answered HTTP 400").
    pub fn from_http(result: core::result::Result<Response, HttpError>, who: &str) -> Export {
        match result {
            Ok(r) if (200..300).contains(&r.status) => Export::Sent,
            Ok(r) => {
                let mut reason = format!("{who}: the destination answered HTTP {}", r.status);
                let body = r.body();
                if !body.is_empty() {
                    let text = String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
                    reason.push_str(": ");
                    reason.push_str(text.trim());
                }
                if r.status == 429 || (502..=504).contains(&r.status) {
                    let after_ms = r
                        .header("Retry-After")
                        .and_then(|v| v.trim().parse::<i64>().ok())
                        .map(|s| s * 1000);
                    Export::Retryable { after_ms, reason }
                } else {
                    Export::Permanent(reason)
                }
            }
            Err(HttpError::Failed) => Export::Retryable {
                after_ms: None,
                reason: format!("{who}: the request failed (no response)"),
            },
            Err(e) => Export::Permanent(format!("{who}: the request failed ({e:?})")),
        }
    }

    #[doc(hidden)]
    pub fn code(self) -> i32 {
        match self {
            Export::Sent => 0,
            Export::Retryable { after_ms, reason } => {
                set_error(&reason);
                if let Some(ms) = after_ms {
                    unsafe { host::set_retry_after(ms) };
                }
                1
            }
            Export::Permanent(reason) => {
                set_error(&reason);
                2
            }
            Export::Partial { rejected, reason } => {
                set_error(&reason);
                unsafe { host::set_rejected(rejected) };
                3
            }
        }
    }
}

/// Hands an encoded Export<Signal>ServiceRequest to weft (receivers and connectors).
pub fn emit(signal: Signal, request: &[u8]) -> Result {
    match unsafe { host::emit(signal as i32, request.as_ptr(), request.len() as i32) } {
        0 => Ok(()),
        rc => Err(Error::new(format!("weft refused what the plugin emitted ({rc})"))),
    }
}

/// What a receiver's request is (docs/abi.md, "Receiver plugins").
#[derive(Clone, Copy, Debug)]
pub enum RequestInfo {
    Method = 0,
    Path = 1,
    Query = 2,
    /// Pull: the URL fetched.
    Target = 3,
    /// Push: the client's address.
    Peer = 4,
    /// Pull: the target's HTTP status.
    Status = 5,
}

pub fn request_info(which: RequestInfo) -> Option<String> {
    read_sized(|out, cap| unsafe { host::request_info(which as i32, out, cap) })
        .ok()
        .map(|v| String::from_utf8_lossy(&v).into_owned())
}

/// A header of the request (push) or of the target's response (pull), name without case.
pub fn request_header(name: &str) -> Option<String> {
    read_sized(|out, cap| unsafe { host::request_header(name.as_ptr(), name.len() as i32, out, cap) })
        .ok()
        .map(|v| String::from_utf8_lossy(&v).into_owned())
}

/// Push: the answer's status (200-599) and body for an accepted request.
pub fn respond(status: i32, body: &[u8]) -> Result {
    match unsafe { host::respond(status, body.as_ptr(), body.len() as i32) } {
        0 => Ok(()),
        rc => Err(Error::new(format!("respond refused ({rc})"))),
    }
}
