//! The audit trail's actions: the one list. docs/audit.md documents each, and a test keeps the two in step.

macro_rules! actions {
    ($($name:ident = $action:literal;)*) => {
        $(pub const $name: &str = $action;)*
        /// Every action byob records.
        pub const ALL: &[&str] = &[$($name),*];
    };
}

actions! {
    ACCESS_DENIED = "access.denied";
    ASSET_DELETE = "asset.delete";
    ASSET_PURGE = "asset.purge";
    ASSET_READ = "asset.read";
    ASSET_REBUILD = "asset.rebuild";
    ASSET_RESTORE = "asset.restore";
    ASSET_SETTINGS_SET = "asset.settings.set";
    ASSET_UPLOAD = "asset.upload";
    ASSET_VERIFY = "asset.verify";
    ASSET_WRITE = "asset.write";
    ATTACHMENT_COMPLETE = "attachment.complete";
    MIGRATION_CANCEL = "migration.cancel";
    MIGRATION_COMPLETE = "migration.complete";
    MIGRATION_START = "migration.start";
    MIGRATION_SWITCH = "migration.switch";
    ATTACHMENT_CREATE = "attachment.create";
    ATTACHMENT_DELETE = "attachment.delete";
    ATTACHMENT_DOWNLOAD = "attachment.download";
    ATTACHMENT_POLICY_RESET = "attachment.policy.reset";
    ATTACHMENT_POLICY_SET = "attachment.policy.set";
    ATTACHMENT_REFRESH = "attachment.refresh";
    ATTACHMENT_SCAN = "attachment.scan";
    ATTACHMENT_THUMBNAIL = "attachment.thumbnail";
    AUDIT_READ = "audit.read";
    CONNECTION_CREATE = "connection.create";
    CONNECTION_DELETE = "connection.delete";
    CONNECTION_TEST = "connection.test";
    CONNECTION_TRUST_HOST_KEY = "connection.trust_host_key";
    CONNECTION_UPDATE = "connection.update";
    CONNECTION_VERIFY = "connection.verify";
    EXPORT_ACK = "export.ack";
    EXPORT_CREATE = "export.create";
    EXPORT_DELETE = "export.delete";
    EXPORT_DELIVERED = "export.delivered";
    EXPORT_PAUSE = "export.pause";
    EXPORT_RESUME = "export.resume";
    EXPORT_RUN = "export.run";
    IMPORT_CREATE = "import.create";
    IMPORT_DELETE = "import.delete";
    IMPORT_LOADED = "import.loaded";
    IMPORT_PAUSE = "import.pause";
    IMPORT_RESUME = "import.resume";
    IMPORT_RUN = "import.run";
    IMPORT_SKIPPED = "import.skipped";
    INTEGRATION_CREATE = "integration.create";
    INTEGRATION_DELETE = "integration.delete";
    INTEGRATION_DISABLE = "integration.disable";
    INTEGRATION_ENABLE = "integration.enable";
    INTEGRATION_EXTERNAL_ID_PROMOTE = "integration.external_id.promote";
    INTEGRATION_EXTERNAL_ID_ROTATE = "integration.external_id.rotate";
    INTEGRATION_SETUP_READ = "integration.setup.read";
    INTEGRATION_UPDATE = "integration.update";
    INTEGRATION_VERIFY = "integration.verify";
    JANITOR_ABORT_INCOMPLETE = "janitor.abort-incomplete";
    JANITOR_EXPIRE = "janitor.expire";
    JANITOR_EXPORT_EXPIRE = "janitor.export-expire";
    JANITOR_EXPORT_FAILED_CLEANUP = "janitor.export-failed-cleanup";
    JOB_CANCEL = "job.cancel";
    MEMBER_CREATE = "member.create";
    MEMBER_DELETE = "member.delete";
    MEMBER_UPDATE = "member.update";
    ORG_CREATE = "org.create";
    ORG_DELETE = "org.delete";
    ORG_RENAME = "org.rename";
    SECRET_CREATE = "secret.create";
    SECRET_DELETE = "secret.delete";
    SECRET_REWRAP = "secret.rewrap";
    SECRET_UPDATE = "secret.update";
    SECRET_USE = "secret.use";
    TOKEN_CREATE = "token.create";
    TOKEN_REVOKE = "token.revoke";
    UPLOAD_ABORT = "upload.abort";
    UPLOAD_COMPLETE = "upload.complete";
    UPLOAD_CREATE = "upload.create";
    UPLOAD_LOAD = "upload.load";
    UPLOAD_PULL_GRANT = "upload.pull.grant";
    UPLOAD_LOADED = "upload.loaded";
    UPLOAD_REFRESH = "upload.refresh";
    WEBHOOK_CREATE = "webhook.create";
    WEBHOOK_DELETE = "webhook.delete";
    EVENT_VERIFICATION_COMPLETED = "event.verification-completed";
    EVENT_INTEGRATION_STATE_CHANGED = "event.integration-state-changed";
    EVENT_CHECK_DRIFTED = "event.check-drifted";
    EVENT_CHECK_RECOVERED = "event.check-recovered";
    EVENT_CREDENTIAL_EXPIRING = "event.credential-expiring";
    EVENT_CREDENTIAL_EXPIRED = "event.credential-expired";
    EVENT_WEBHOOK_TEST = "event.webhook-test";
    EVENT_EXPORT_SUCCEEDED = "event.export-succeeded";
    EVENT_EXPORT_FAILED = "event.export-failed";
    EVENT_ATTACHMENT_AVAILABLE = "event.attachment-available";
    EVENT_ATTACHMENT_REJECTED = "event.attachment-rejected";
    EVENT_ASSET_TAMPERED = "event.asset-tampered";
    EVENT_MIGRATION_COMPLETED = "event.migration-completed";
    EVENT_MIGRATION_FAILED = "event.migration-failed";
}

/// The action recorded when an event of `event_type` is emitted (`event.<type>`).
#[must_use]
pub fn for_event(event_type: &str) -> Option<&'static str> {
    ALL.iter().copied().find(|a| a.strip_prefix("event.") == Some(event_type))
}

#[cfg(test)]
mod tests {
    /// The first column of docs/audit.md's actions table.
    fn documented() -> Vec<String> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/audit.md");
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let table = text.split("## Actions").nth(1).unwrap_or_default();
        table
            .lines()
            .filter(|l| l.starts_with("| `"))
            .flat_map(|l| {
                let cell = l.trim_start_matches("| ").split(" | ").next().unwrap_or_default();
                cell.split(", ").map(|a| a.trim_matches('`').to_string()).collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn every_action_is_documented_and_every_documented_action_exists() {
        let mut documented = documented();
        documented.sort();
        let mut all: Vec<String> = super::ALL.iter().map(ToString::to_string).collect();
        all.sort();
        assert_eq!(documented, all, "docs/audit.md's actions table");
    }

    #[test]
    fn every_event_type_has_its_action() {
        for event_type in crate::event::EVENT_TYPES {
            assert_eq!(super::for_event(event_type), Some(format!("event.{event_type}").as_str()));
        }
    }
}
