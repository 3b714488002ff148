//! Google service-account key files (the JSON a customer downloads from the console).

use serde_json::Value;

use super::FieldError;
use crate::Sensitive;

/// A service-account key. The key file itself stays [`Sensitive`]; its identity fields are safe to show.
#[derive(Debug, Clone)]
pub struct ServiceAccountKey {
    pub client_email: String,
    pub project_id: String,
    pub private_key_id: String,
    pub json: Sensitive<String>,
}

impl ServiceAccountKey {
    /// # Errors
    /// A [`FieldError`] naming the missing or malformed member (never echoing the key).
    pub fn parse(field: &str, text: &str) -> Result<Self, FieldError> {
        let err = |rule, msg: String| Err(FieldError::new(field, rule, msg));
        let Ok(value) = serde_json::from_str::<Value>(text) else {
            return err(
                crate::rules::SERVICE_ACCOUNT_JSON,
                "is not JSON; paste the key file downloaded from the Google Cloud console".into(),
            );
        };
        let Some(object) = value.as_object() else {
            return err(crate::rules::SERVICE_ACCOUNT_JSON, "must be a JSON object (the whole key file)".into());
        };
        let text_of = |name: &str| object.get(name).and_then(Value::as_str).filter(|s| !s.is_empty());
        if text_of("type") != Some("service_account") {
            return err(
                crate::rules::SERVICE_ACCOUNT_TYPE,
                "`type` must be `service_account` (this is not a service-account key file)".into(),
            );
        }
        for member in ["project_id", "private_key_id", "private_key", "client_email"] {
            if text_of(member).is_none() {
                return err(crate::rules::SERVICE_ACCOUNT_MISSING_MEMBER, format!("the key file has no `{member}`"));
            }
        }
        let private_key = text_of("private_key").unwrap_or_default();
        if !private_key.trim_start().starts_with("-----BEGIN PRIVATE KEY-----")
            || !private_key.contains("-----END PRIVATE KEY-----")
        {
            return err(crate::rules::SERVICE_ACCOUNT_PRIVATE_KEY, "`private_key` is not a PEM private key".into());
        }
        let client_email = text_of("client_email").unwrap_or_default().to_string();
        if !client_email.contains('@') {
            return err(crate::rules::SERVICE_ACCOUNT_EMAIL, "`client_email` is not an email address".into());
        }
        if let Some(uri) = text_of("token_uri")
            && !uri.starts_with("https://")
        {
            return err(crate::rules::SERVICE_ACCOUNT_TOKEN_URI, "`token_uri` must be an https URL".into());
        }
        Ok(Self {
            client_email,
            project_id: text_of("project_id").unwrap_or_default().to_string(),
            private_key_id: text_of("private_key_id").unwrap_or_default().to_string(),
            json: Sensitive::new(text.to_string()),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn key() -> Value {
        json!({
            "type": "service_account", "project_id": "acme-data", "private_key_id": "abc123",
            "private_key": "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----\n",
            "client_email": "byob@acme-data.iam.gserviceaccount.com", "client_id": "1",
            "token_uri": "https://oauth2.googleapis.com/token"
        })
    }

    fn rule(value: &Value) -> Option<&'static str> {
        ServiceAccountKey::parse("service_account_key", &value.to_string()).err().map(|e| e.rule)
    }

    #[test]
    fn reads_identity_and_hides_the_key() {
        let parsed = ServiceAccountKey::parse("k", &key().to_string());
        assert_eq!(
            parsed.as_ref().map(|k| k.client_email.as_str()).ok(),
            Some("byob@acme-data.iam.gserviceaccount.com")
        );
        assert_eq!(parsed.map(|k| format!("{k:?}").contains("BEGIN PRIVATE KEY")).ok(), Some(false));
    }

    #[test]
    fn rejects_other_json() {
        assert_eq!(ServiceAccountKey::parse("k", "not json").err().map(|e| e.rule), Some("service-account-json"));
        assert_eq!(rule(&json!([1])), Some("service-account-json"));
        let mut v = key();
        v["type"] = json!("authorized_user");
        assert_eq!(rule(&v), Some("service-account-type"));
        let mut v = key();
        v.as_object_mut().map(|o| o.remove("client_email"));
        assert_eq!(rule(&v), Some("service-account-missing-member"));
        let mut v = key();
        v["private_key"] = json!("ssh-rsa AAAA");
        assert_eq!(rule(&v), Some("service-account-private-key"));
        let mut v = key();
        v["client_email"] = json!("byob");
        assert_eq!(rule(&v), Some("service-account-email"));
        let mut v = key();
        v["token_uri"] = json!("http://evil.example/token");
        assert_eq!(rule(&v), Some("service-account-token-uri"));
    }
}
