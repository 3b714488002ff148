//! Arrow IPC streams as Snowflake (and its stand-ins) write them, read leniently: every field is read as
//! nullable. Snowflake's timestamp structs declare their `epoch` and `fraction` children non-null, yet a NULL
//! timestamp may come as a valid struct with null children (fakesnow does so); arrow's own stream reader refuses
//! that, and only skips the check through `unsafe`. Reading against a schema whose fields are all nullable
//! accepts it safely; byob then reads a struct whose epoch is null as NULL.

use std::{collections::HashMap, sync::Arc};

use arrow_array::RecordBatch;
use arrow_buffer::Buffer;
use arrow_ipc::{MessageHeader, convert::try_fb_to_schema, reader::read_record_batch, root_as_message};
use arrow_schema::{DataType, Field, Schema, SchemaRef};

use crate::warehouse::WarehouseError;

fn bad(what: impl std::fmt::Display) -> WarehouseError {
    WarehouseError::Database(format!("Snowflake's Arrow rowset: {what}"))
}

fn nullable(field: &Field) -> Field {
    let data_type = match field.data_type() {
        DataType::Struct(children) => DataType::Struct(children.iter().map(|c| Arc::new(nullable(c))).collect()),
        other => other.clone(),
    };
    Field::new(field.name(), data_type, true).with_metadata(field.metadata().clone())
}

fn le_i32(bytes: &[u8], at: usize) -> Option<i32> {
    Some(i32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

/// The record batches of the stream in one rowset or chunk, one at a time; each batch's buffers are slices of
/// the chunk's own bytes (no copy).
pub(super) struct Batches {
    bytes: Buffer,
    at: usize,
    schema: Option<SchemaRef>,
}

impl Batches {
    pub(super) fn new(bytes: Vec<u8>) -> Self {
        Self { bytes: Buffer::from_vec(bytes), at: 0, schema: None }
    }

    /// The next record batch, reading past the schema; `None` at the stream's end.
    fn read(&mut self) -> Result<Option<RecordBatch>, WarehouseError> {
        let no_dictionaries = HashMap::new();
        loop {
            let bytes = self.bytes.as_slice();
            if self.at >= bytes.len() {
                return Ok(None);
            }
            let mut at = self.at;
            let mut length = le_i32(bytes, at).ok_or_else(|| bad("a message is cut short"))?;
            at += 4;
            // Since Arrow 0.15 each length follows a continuation marker.
            if length == -1 {
                length = le_i32(bytes, at).ok_or_else(|| bad("a message is cut short"))?;
                at += 4;
            }
            if length <= 0 {
                self.at = bytes.len();
                return Ok(None);
            }
            let end = at + usize::try_from(length).map_err(bad)?;
            let message =
                root_as_message(bytes.get(at..end).ok_or_else(|| bad("a message is cut short"))?).map_err(bad)?;
            let body_length = usize::try_from(message.bodyLength()).map_err(bad)?;
            if end + body_length > bytes.len() {
                return Err(bad("a message body is cut short"));
            }
            self.at = end + body_length;
            match message.header_type() {
                MessageHeader::Schema => {
                    let fb = message.header_as_schema().ok_or_else(|| bad("an unreadable schema"))?;
                    let read = try_fb_to_schema(fb).map_err(bad)?;
                    let fields: Vec<Field> = read.fields().iter().map(|f| nullable(f)).collect();
                    self.schema = Some(Arc::new(Schema::new_with_metadata(fields, read.metadata().clone())));
                }
                MessageHeader::RecordBatch => {
                    let header = message.header_as_record_batch().ok_or_else(|| bad("an unreadable record batch"))?;
                    let schema = self.schema.clone().ok_or_else(|| bad("rows before their schema"))?;
                    let body = self.bytes.slice_with_length(end, body_length);
                    let batch = read_record_batch(&body, header, schema, &no_dictionaries, None, &message.version())
                        .map_err(bad)?;
                    return Ok(Some(batch));
                }
                other => return Err(bad(format!("unexpected {other:?} message"))),
            }
        }
    }
}

impl Iterator for Batches {
    type Item = Result<RecordBatch, WarehouseError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.read().transpose()
    }
}
