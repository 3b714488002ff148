//! Loads the platform pulls from the customer's bucket itself (`via: platform`): byob describes the file as it
//! inspected it, vends credentials that read exactly the staged object for 15 minutes (or names the customer's
//! storage integration on the platform), and the platform copies it in, all or nothing. Whatever stands in the
//! way — a platform that cannot, credentials byob cannot vend, options only byob's reader has, the platform's
//! refusal — sends the load down byob's own stream instead, and the job's result says which path ran and why.

use byob_core::{AuditOutcome, actions, upload::Upload};
use byob_ports::warehouse::{LoadTarget, PullCredentials, PullFormat, PullSource};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use super::{LoadSpec, Loads, Mode, OnError, match_columns};
use crate::{RequestContext, tabular::TextEncoding};

/// How a load's rows reach the platform.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LoadVia {
    /// byob reads the file and writes the rows (every platform).
    #[default]
    Stream,
    /// The platform reads the file from the bucket itself where it can (Snowflake); byob streams otherwise.
    Platform,
}

/// Which path a load took, and why it is not the one asked for.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LoadPath {
    pub path: LoadVia,
    pub reason: Option<String>,
}

impl LoadPath {
    fn streamed(reason: Option<String>) -> Self {
        Self { path: LoadVia::Stream, reason }
    }

    pub(crate) fn platform() -> Self {
        Self { path: LoadVia::Platform, reason: None }
    }
}

/// The outcome of asking the platform to pull.
pub(crate) enum Pulled {
    /// The platform loaded this many rows.
    Rows(u64),
    /// byob streams instead.
    Stream(LoadPath),
}

impl Loads {
    /// Has the platform load the upload's object itself when the spec asks for it and nothing stands in the way.
    pub(crate) async fn pull(&self, ctx: &RequestContext, upload: &Upload, key: &str, spec: &LoadSpec) -> Pulled {
        if spec.via != LoadVia::Platform {
            return Pulled::Stream(LoadPath::streamed(None));
        }
        let refuse = |why: String| Pulled::Stream(LoadPath::streamed(Some(why)));
        if spec.on_error == OnError::Skip {
            return refuse("`on_error: skip` needs byob's reader, which sets rejected rows aside".into());
        }
        if spec.encoding.encoding != TextEncoding::Utf8 || spec.encoding.bom {
            return refuse("the file is not plain UTF-8; byob's reader converts it".into());
        }
        let org = upload.org_id;
        let connection = match self.connections.open(ctx, org, &spec.connection).await {
            Ok(c) => c,
            Err(e) => return refuse(e.to_string()),
        };
        let warehouse = connection.warehouse;
        let columns = match spec.mode {
            Mode::Create | Mode::Replace => spec.columns.clone(),
            Mode::Append => match warehouse.columns(&spec.table).await {
                Ok(Some(existing)) => match match_columns(&spec.columns, &existing) {
                    Ok(columns) => columns,
                    Err(_) => return refuse("the file's columns do not all match the table's".into()),
                },
                Ok(None) => return refuse(format!("table {} does not exist", spec.table)),
                Err(e) => return refuse(e.to_string()),
            },
        };
        let read =
            self.uploads.storage().platform_read(ctx, org, upload.integration_id, key, warehouse.pull_integration());
        let (url, region, credentials) = match read.await {
            Ok(read) => read,
            Err(why) => return refuse(why),
        };
        let grant = match &credentials {
            PullCredentials::Integration(_) => "storage-integration",
            PullCredentials::AwsSession { .. } | PullCredentials::AzureSas { .. } => "vended-15-minutes",
        };
        let detail = json!({
            "connection": spec.connection, "platform": warehouse.platform(), "grant": grant, "object": url,
        });
        if let Err(e) = self.uploads.audit(ctx, upload, actions::UPLOAD_PULL_GRANT, AuditOutcome::Success, detail).await
        {
            return refuse(format!("the grant could not be audited: {e}"));
        }
        // The platform's own read gives no commit token: a pulled load cut by a crash runs again from the start.
        let target = LoadTarget { table: spec.table.clone(), mode: spec.mode.load_mode(), columns, ledger: None };
        let format =
            PullFormat { delimiter: spec.delimiter, header: spec.has_header, null_tokens: spec.null_tokens.clone() };
        let source = PullSource { url, region, credentials, format };
        match warehouse.pull(&target, &source).await {
            Ok(rows) => {
                if spec.mode == Mode::Create
                    && let Err(e) = self.connections.record_created(org, &spec.connection, &spec.table).await
                {
                    tracing::warn!(error = %e, "a pulled load's table could not be recorded as byob's");
                }
                Pulled::Rows(rows)
            }
            Err(e) => refuse(format!("{} did not load it: {e}", warehouse.platform())),
        }
    }
}
