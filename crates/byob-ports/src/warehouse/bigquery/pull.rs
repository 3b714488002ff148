//! Loads BigQuery pulls from the customer's bucket: a load job (`jobs.insert`) reads the one staged object from
//! `gs://` with the connection's own service account — BigQuery takes no credential for a load job, so byob
//! vends none: the customer grants that service account read on the uploads prefix — into the load's build
//! table, failing on the first bad row; the rows are then put in place as a streamed load's are.

use byob_core::table::Column;
use serde_json::{Value, json};

use super::{BigQueryWarehouse, DIALECT, build_type};
use crate::warehouse::{LoadMode, LoadTarget, PullSource, WarehouseError, sql::build_name, staged::Statements as _};

/// The load job that copies the object into `table` of `dataset`. It names no credential.
pub(super) fn load_job(
    job_id: &str,
    project: &str,
    dataset: &str,
    table: &str,
    location: Option<&str>,
    columns: &[Column],
    source: &PullSource,
) -> Result<Value, WarehouseError> {
    if !source.url.starts_with("gs://") {
        return Err(WarehouseError::Unsupported(
            "BigQuery load jobs read Google Cloud Storage (`gs://`); the file is in another store".into(),
        ));
    }
    let format = &source.format;
    let fields: Vec<Value> = columns
        .iter()
        .map(|c| json!({ "name": c.name, "type": build_type(c.column_type), "mode": "NULLABLE" }))
        .collect();
    let mut load = json!({
        "sourceUris": [source.url],
        "destinationTable": { "projectId": project, "datasetId": dataset, "tableId": table },
        "schema": { "fields": fields },
        "sourceFormat": "CSV",
        "skipLeadingRows": u8::from(format.header),
        "fieldDelimiter": char::from(format.delimiter).to_string(),
        "quote": "\"",
        "allowQuotedNewlines": true,
        "encoding": "UTF-8",
        "createDisposition": "CREATE_IF_NEEDED",
        "writeDisposition": "WRITE_EMPTY",
        "maxBadRecords": 0,
    });
    match format.null_tokens.as_slice() {
        [] => {
            return Err(WarehouseError::Unsupported(
                "BigQuery reads the empty field as NULL unless told another string; the load names none".into(),
            ));
        }
        [one] => load["nullMarker"] = json!(one),
        several => load["nullMarkers"] = json!(several),
    }
    let mut reference = json!({ "projectId": project, "jobId": job_id });
    if let Some(location) = location {
        reference["location"] = json!(location);
    }
    Ok(json!({ "jobReference": reference, "configuration": { "load": load } }))
}

impl BigQueryWarehouse {
    pub(super) async fn pull_object(&self, target: &LoadTarget, source: &PullSource) -> Result<u64, WarehouseError> {
        let dataset = self.dataset_of(&target.table).to_string();
        let build_table = build_name(&target.table.name);
        let job_id = format!("byob_{}", ulid::Ulid::new().to_string().to_ascii_lowercase());
        let location = self.settings.location.as_deref();
        // Refused before any call when the object or the format is one a load job cannot take.
        let project = &self.settings.server.database;
        let job = load_job(&job_id, project, &dataset, &build_table, location, &target.columns, source)?;
        let client = self.client().await?;
        let existing = self.described(&client, &target.table).await?;
        target.mode.check(&target.table, existing.is_some())?;
        let declared = match (&existing, target.mode) {
            (Some(fields), LoadMode::Append) => self.declared(fields, &target.columns),
            _ => vec![None; target.columns.len()],
        };
        let build = self.qualified_in(&client, &dataset, &build_table);
        let loaded = async {
            let rows = client.load_job(&job).await?;
            let shapes = DIALECT.shapes_in(&client, &build, &target.columns).await?;
            let decimals = DIALECT.decimal_types(&target.columns, &shapes, &declared)?;
            let select = DIALECT.build_select(&target.columns, &decimals);
            let final_name = self.qualified(&client, &target.table);
            client
                .execute(&DIALECT.place_statement(&final_name, &build, target.mode, &target.columns, &select))
                .await?;
            Ok(rows)
        }
        .await;
        client.execute(&format!("DROP TABLE IF EXISTS {build}")).await.ok();
        loaded
    }
}

#[cfg(test)]
mod tests {
    use byob_core::table::ColumnType;

    use super::*;
    use crate::warehouse::{PullCredentials, PullFormat};

    #[test]
    fn a_pulled_load_is_exactly_this_load_job_and_carries_no_credential() {
        let columns = vec![
            Column { name: "id".into(), column_type: ColumnType::Integer, nullable: false },
            Column { name: "amount".into(), column_type: ColumnType::Decimal, nullable: true },
            Column { name: "at".into(), column_type: ColumnType::TimestampTz, nullable: true },
        ];
        let source = PullSource {
            url: "gs://acme-data/tenants/acme/uploads/upl_1/it's.csv".into(),
            region: None,
            credentials: PullCredentials::Integration("byob@acme.iam.gserviceaccount.com".into()),
            format: PullFormat { delimiter: b';', header: true, null_tokens: vec![String::new(), "NA".into()] },
        };
        let job = load_job("byob_1", "acme-prod", "sales", "t__byob_1", Some("EU"), &columns, &source).ok();
        assert_eq!(
            job,
            Some(json!({
                "jobReference": { "projectId": "acme-prod", "jobId": "byob_1", "location": "EU" },
                "configuration": { "load": {
                    "sourceUris": ["gs://acme-data/tenants/acme/uploads/upl_1/it's.csv"],
                    "destinationTable": { "projectId": "acme-prod", "datasetId": "sales", "tableId": "t__byob_1" },
                    "schema": { "fields": [
                        { "name": "id", "type": "INT64", "mode": "NULLABLE" },
                        { "name": "amount", "type": "STRING", "mode": "NULLABLE" },
                        { "name": "at", "type": "TIMESTAMP", "mode": "NULLABLE" },
                    ] },
                    "sourceFormat": "CSV", "skipLeadingRows": 1, "fieldDelimiter": ";", "quote": "\"",
                    "allowQuotedNewlines": true, "encoding": "UTF-8", "createDisposition": "CREATE_IF_NEEDED",
                    "writeDisposition": "WRITE_EMPTY", "maxBadRecords": 0, "nullMarkers": ["", "NA"],
                } },
            }))
        );
        let mut s3 = source;
        s3.url = "s3://acme-data/x.csv".into();
        assert!(matches!(load_job("j", "p", "d", "t", None, &columns, &s3), Err(WarehouseError::Unsupported(_))));
    }
}
