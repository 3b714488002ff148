//! Removing capabilities from text byob shows: a URL's query string holds presigned signatures, SAS tokens and
//! GCS upload-session ids, and errors from HTTP clients quote the URL they called. Every message a tenant or a log
//! sees (problem details, verification outcomes, job errors, and so events, webhooks and audit entries) passes
//! through here.

use std::borrow::Cow;

/// What replaces a URL's query string.
pub const REDACTED_QUERY: &str = "?[redacted]";

/// Whether `c` ends a URL written inside a message.
fn ends_url(c: char) -> bool {
    c.is_whitespace() || matches!(c, '"' | '\'' | '<' | '>' | '`' | ')' | ']' | '}')
}

/// `text` with the query string (and fragment) of every `http://` or `https://` URL replaced by `?[redacted]`.
#[must_use]
pub fn url_queries(text: &str) -> Cow<'_, str> {
    if !text.contains("://") {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut changed = false;
    while let Some(at) = rest.find("://") {
        let scheme_start = rest[..at]
            .rfind(|c: char| !c.is_ascii_alphanumeric() && c != '+' && c != '-' && c != '.')
            .map_or(0, |i| i + 1);
        let scheme = &rest[scheme_start..at];
        let end = rest[at..].find(ends_url).map_or(rest.len(), |i| at + i);
        let url = &rest[scheme_start..end];
        out.push_str(&rest[..scheme_start]);
        match url.find(['?', '#']) {
            Some(q) if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") => {
                out.push_str(&url[..q]);
                out.push_str(REDACTED_QUERY);
                changed = true;
            }
            _ => out.push_str(url),
        }
        rest = &rest[end..];
    }
    out.push_str(rest);
    if changed { Cow::Owned(out) } else { Cow::Borrowed(text) }
}

/// [`url_queries`] of a message byob is about to keep, without copying it when there is nothing to redact.
#[must_use]
pub fn url_queries_in(text: String) -> String {
    match url_queries(&text) {
        Cow::Borrowed(_) => text,
        Cow::Owned(redacted) => redacted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_of_urls_are_removed_and_the_rest_kept() {
        let sas = "error sending request for url (https://acme.blob.core.windows.net/c/x.csv?sv=2023-11-03&sig=AbC%2B%3D&sp=r): connection refused";
        assert_eq!(
            url_queries(sas),
            "error sending request for url (https://acme.blob.core.windows.net/c/x.csv?[redacted]): connection refused"
        );
        let two = "PUT http://127.0.0.1:9/b/k?X-Amz-Signature=ff then https://x/upload?upload_id=ABC#frag.";
        assert_eq!(url_queries(two), "PUT http://127.0.0.1:9/b/k?[redacted] then https://x/upload?[redacted]");
        assert!(matches!(url_queries("no url here, a?b=c"), Cow::Borrowed(_)));
        assert_eq!(url_queries("s3://bucket/key?versionId=1 stays"), "s3://bucket/key?versionId=1 stays");
        assert_eq!(
            url_queries("https://storage.googleapis.com/b/o is fine"),
            "https://storage.googleapis.com/b/o is fine"
        );
    }
}
