//! A remote server's answer is never quoted to a tenant: the host may be one the tenant pointed byob at to read
//! something back (an internal service's error page, a credential). The message keeps the vendor's error code
//! when there is one (`AuthenticationFailed`, `AccessDenied`), and the body goes to byob's log under an error id
//! the message names, for the operator.

/// Bytes of a remote body read for the log, at most.
const LOGGED_BYTES: usize = 4096;

/// What a message says about a remote body: the vendor's error code if the body has one, and where the body is.
#[must_use]
pub fn logged_body(body: &str) -> String {
    if body.trim().is_empty() {
        return String::new();
    }
    let error_id = byob_core::id::new_error_id();
    let kept: String = body.chars().take(LOGGED_BYTES).collect();
    tracing::warn!(error_id = %error_id, body = %byob_core::redact::url_queries(&kept), "a remote server's error body");
    match vendor_code(body) {
        Some(code) => format!(" ({code}; the response is in byob's log under {error_id})"),
        None => format!(" (the response is in byob's log under {error_id})"),
    }
}

/// Reads at most a few KiB of a response's body and describes it as [`logged_body`] does.
pub async fn remote_body(response: reqwest::Response) -> String {
    logged_body(&remote_text(response).await)
}

/// At most a few KiB of a response's body, as text.
pub(crate) async fn remote_text(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while body.len() < LOGGED_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}

/// `<Code>X</Code>` (S3, Azure, GCS XML), or `"reason": "X"` / `"status": "X"` (Google JSON), when X is a plain
/// identifier: anything longer or stranger is not a code and stays out of the message.
pub(crate) fn vendor_code(body: &str) -> Option<String> {
    let between = |open: &str, close: &str| {
        let start = body.find(open)? + open.len();
        let rest = &body[start..];
        Some(rest[..rest.find(close)?].trim().to_string())
    };
    let candidates = [
        between("<Code>", "</Code>"),
        between("\"reason\": \"", "\""),
        between("\"reason\":\"", "\""),
        between("\"status\": \"", "\""),
        between("\"status\":\"", "\""),
    ];
    candidates.into_iter().flatten().find(|c| {
        (1..=64).contains(&c.len()) && c.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_vendor_code_and_never_the_body() {
        let azure = "<?xml version=\"1.0\"?><Error><Code>AuthenticationFailed</Code><Message>Server failed to \
                     authenticate the request. internal-token=hunter2</Message></Error>";
        let shown = logged_body(azure);
        assert!(shown.starts_with(" (AuthenticationFailed; the response is in byob's log under err_"), "{shown}");
        assert!(!shown.contains("hunter2"));
        let google = r#"{"error": {"code": 403, "errors": [{"reason": "forbidden"}], "message": "x"}}"#;
        assert!(logged_body(google).starts_with(" (forbidden;"));
        let internal = "aws_secret_access_key = AKIA...; column,names,of,a,secret";
        let shown = logged_body(internal);
        assert!(!shown.contains("AKIA") && shown.contains("byob's log under err_"), "{shown}");
        assert_eq!(logged_body("  "), "");
    }
}
