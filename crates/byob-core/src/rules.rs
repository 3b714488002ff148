//! The stable rule codes of a field that breaks a rule (`validation-failed` with `rule`): the one list. The docs
//! that describe them (validation.md, imports.md, exports.md, uploads.md) are checked against it by a test.

/// A rule code, e.g. `bucket-name-length`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rule(&'static str);

impl Rule {
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        self.0
    }
}

macro_rules! rules {
    ($($name:ident = $rule:literal;)*) => {
        $(pub const $name: Rule = Rule($rule);)*
        /// Every rule byob reports.
        pub const ALL: &[Rule] = &[$($name),*];
    };
}

rules! {
    ACCESS_KEY_ID_FORMAT = "access-key-id-format";
    ARN_ACCOUNT = "arn-account";
    ASSET_NAME = "asset-name";
    ASSET_RETENTION = "asset-retention";
    ASSET_SHA256 = "asset-sha256";
    ATTACHMENT_FILENAME = "attachment-filename";
    MIGRATION_STORE = "migration-store";
    ATTACHMENT_MEDIA_TYPE = "attachment-media-type";
    ATTACHMENT_POLICY_FILES = "attachment-policy-files";
    ATTACHMENT_POLICY_SIZE = "attachment-policy-size";
    ATTACHMENT_POLICY_TYPES = "attachment-policy-types";
    ARN_FORMAT = "arn-format";
    ARN_PARTITION = "arn-partition";
    ARN_PARTITION_REGION = "arn-partition-region";
    ARN_RESOURCE = "arn-resource";
    ARN_ROLE_NAME = "arn-role-name";
    ARN_ROLE_PATH = "arn-role-path";
    ARN_SERVICE = "arn-service";
    AZURE_ACCOUNT_KEY = "azure-account-key";
    AZURE_ACCOUNT_NAME = "azure-account-name";
    AZURE_GUID = "azure-guid";
    BUCKET_NAME_ADJACENT_DOTS = "bucket-name-adjacent-dots";
    BUCKET_NAME_ADJACENT_HYPHENS = "bucket-name-adjacent-hyphens";
    BUCKET_NAME_CHARACTERS = "bucket-name-characters";
    BIGQUERY_DATASET = "bigquery-dataset";
    BIGQUERY_PROJECT = "bigquery-project";
    BUCKET_NAME_DOT_SEGMENTS = "bucket-name-dot-segments";
    BUCKET_NAME_EDGES = "bucket-name-edges";
    BUCKET_NAME_EMPTY = "bucket-name-empty";
    BUCKET_NAME_IP_ADDRESS = "bucket-name-ip-address";
    BUCKET_NAME_LENGTH = "bucket-name-length";
    BUCKET_NAME_RESERVED = "bucket-name-reserved";
    CONNECTION_FIELD_NOT_FOR_PLATFORM = "connection-field-not-for-platform";
    CONNECTION_FIELD_REQUIRED = "connection-field-required";
    CONNECTION_HOST = "connection-host";
    NETWORK_AVAILABILITY_ZONE = "network-availability-zone";
    NETWORK_ENDPOINT_SERVICE = "network-endpoint-service";
    NETWORK_FIELD = "network-field";
    NETWORK_HOST = "network-host";
    NETWORK_HOST_KEY = "network-host-key";
    NETWORK_MODE = "network-mode";
    NETWORK_PRIVATE_LINK_HOST = "network-private-link-host";
    NETWORK_PROXY_KIND = "network-proxy-kind";
    NETWORK_REGION = "network-region";
    NETWORK_SSH_USER = "network-ssh-user";
    CONNECTION_NAME = "connection-name";
    CONNECTION_NAME_TAKEN = "connection-name-taken";
    CONNECTION_PASSWORD_NEEDS_TLS = "connection-password-needs-tls";
    CONNECTION_TLS_MODE = "connection-tls-mode";
    SNOWFLAKE_PRIVATE_KEY = "snowflake-private-key";
    CREDENTIALS_MODE_PROVIDER = "credentials-mode-provider";
    DATABRICKS_HTTP_PATH = "databricks-http-path";
    ENDPOINT_CREDENTIALS = "endpoint-credentials";
    ENDPOINT_HTTPS = "endpoint-https";
    ENDPOINT_QUERY = "endpoint-query";
    ENDPOINT_SCHEME = "endpoint-scheme";
    ENDPOINT_URL = "endpoint-url";
    EVENT_TYPE_UNKNOWN = "event-type-unknown";
    EXPORT_QUERY_NOT_READ_ONLY = "export-query-not-read-only";
    IDENTIFIER_CONTROL_CHARACTER = "identifier-control-character";
    IDENTIFIER_EMPTY = "identifier-empty";
    IDENTIFIER_TOO_LONG = "identifier-too-long";
    KEY_CONTROL_CHARACTER = "key-control-character";
    KEY_EMPTY = "key-empty";
    KEY_LENGTH = "key-length";
    KMS_KEY_FORMAT = "kms-key-format";
    KMS_KEY_REGION = "kms-key-region";
    KMS_KEY_UNSUPPORTED = "kms-key-unsupported";
    LOCATION_IMMUTABLE = "location-immutable";
    ORIGIN_COUNT = "origin-count";
    ORIGIN_FORMAT = "origin-format";
    PATH_TEMPLATE_BRACES = "path-template-braces";
    PATH_TEMPLATE_EMPTY = "path-template-empty";
    PATH_TEMPLATE_PART_MISSING = "path-template-part-missing";
    PATH_TEMPLATE_PART_POSITION = "path-template-part-position";
    PATH_TEMPLATE_PLACEHOLDER = "path-template-placeholder";
    PATTERN_BRACES = "pattern-braces";
    PATTERN_DATE_COUNT = "pattern-date-count";
    PATTERN_DATE_IN_FOLDER = "pattern-date-in-folder";
    PATTERN_EMPTY = "pattern-empty";
    PATTERN_FOLDER_MISSING = "pattern-folder-missing";
    PATTERN_PATH = "pattern-path";
    PATTERN_PLACEHOLDER = "pattern-placeholder";
    PLATFORM_UNSUPPORTED = "platform-unsupported";
    PREFIX_CHARACTERS = "prefix-characters";
    PREFIX_DOT_SEGMENT = "prefix-dot-segment";
    PREFIX_EMPTY_SEGMENT = "prefix-empty-segment";
    PREFIX_LEADING_SLASH = "prefix-leading-slash";
    PREFIX_LENGTH = "prefix-length";
    PROVIDER_LOCAL_DISABLED = "provider-local-disabled";
    REGION_FORMAT = "region-format";
    REGION_REQUIRED = "region-required";
    SAS_EXPIRED = "sas-expired";
    SAS_EXPIRY = "sas-expiry";
    SAS_FORMAT = "sas-format";
    SAS_PERMISSIONS = "sas-permissions";
    SAS_PERMISSIONS_FOR_FEATURES = "sas-permissions-for-features";
    SAS_PROTOCOL = "sas-protocol";
    SAS_RESOURCE = "sas-resource";
    SAS_RESOURCE_TYPES = "sas-resource-types";
    SAS_SERVICES = "sas-services";
    SAS_SIGNATURE = "sas-signature";
    SAS_START = "sas-start";
    SAS_WINDOW = "sas-window";
    SNOWFLAKE_ACCOUNT = "snowflake-account";
    SCHEDULE_CRON = "schedule-cron";
    SCHEDULE_TIMEZONE = "schedule-timezone";
    SCHEDULE_TOO_FREQUENT = "schedule-too-frequent";
    SECRET_EMPTY = "secret-empty";
    SECRET_LENGTH = "secret-length";
    SERVICE_ACCOUNT_EMAIL = "service-account-email";
    SERVICE_ACCOUNT_JSON = "service-account-json";
    SERVICE_ACCOUNT_MISSING_MEMBER = "service-account-missing-member";
    SERVICE_ACCOUNT_PRIVATE_KEY = "service-account-private-key";
    SERVICE_ACCOUNT_TOKEN_URI = "service-account-token-uri";
    SERVICE_ACCOUNT_TYPE = "service-account-type";
    SLOT_NAME = "slot-name";
    SLOT_RECORD = "slot-record";
    STAGING_TTL_RANGE = "staging-ttl-range";
    TABLE_NAME_SYNTAX = "table-name-syntax";
}

#[cfg(test)]
mod tests {
    use super::ALL;

    fn doc(name: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs").join(name);
        std::fs::read_to_string(path).unwrap_or_default()
    }

    /// The docs that describe rules: validation.md's tables, and the rules of import patterns, export path
    /// templates, object keys and schedules where those features are described.
    const DOCS: [&str; 8] = [
        "validation.md",
        "imports.md",
        "exports.md",
        "uploads.md",
        "connections.md",
        "attachments.md",
        "assets.md",
        "migration.md",
    ];

    #[test]
    fn every_rule_is_documented() {
        let docs: String = DOCS.iter().map(|d| doc(d)).collect();
        let missing: Vec<&str> = ALL.iter().map(|r| r.as_str()).filter(|r| !docs.contains(&format!("`{r}`"))).collect();
        assert!(missing.is_empty(), "rules no doc describes: {missing:?}");
    }

    #[test]
    fn every_rule_in_validation_md_exists() {
        let text = doc("validation.md");
        for line in text.lines().filter(|l| l.starts_with("| `")) {
            let cell = line.trim_start_matches("| ").split(" | ").next().unwrap_or_default();
            for rule in cell.split(", ").map(|r| r.trim_matches('`')) {
                assert!(
                    ALL.iter().any(|r| r.as_str() == rule),
                    "validation.md lists `{rule}`, which byob never reports"
                );
            }
        }
    }

    #[test]
    fn rules_are_unique_kebab_case() {
        let mut seen = std::collections::HashSet::new();
        for rule in ALL {
            assert!(seen.insert(rule.as_str()), "{} twice", rule.as_str());
            assert!(rule.as_str().bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'));
        }
    }
}
