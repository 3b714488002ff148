//! Arrow IPC streams as Snowflake (and its stand-ins) write them, read leniently: every field is read as
//! nullable. Snowflake's timestamp structs declare their `epoch` and `fraction` children non-null, yet a NULL
//! timestamp may come as a valid struct with null children (fakesnow does so); arrow's own stream reader refuses
//! that, and only skips the check through `unsafe`. Reading against a schema whose fields are all nullable
//! accepts it safely; byob then reads a struct whose epoch is null as NULL.

use std::{collections::HashMap, sync::Arc};

use arrow_array::RecordBatch;
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

/// Calls `each` with every record batch of the stream in `bytes`, in order.
pub(super) fn for_each_batch(
    bytes: &[u8],
    mut each: impl FnMut(RecordBatch) -> Result<(), WarehouseError>,
) -> Result<(), WarehouseError> {
    let mut at = 0usize;
    let mut schema: Option<SchemaRef> = None;
    let no_dictionaries = HashMap::new();
    while at < bytes.len() {
        let mut length = le_i32(bytes, at).ok_or_else(|| bad("a message is cut short"))?;
        at += 4;
        // Since Arrow 0.15 each length follows a continuation marker.
        if length == -1 {
            length = le_i32(bytes, at).ok_or_else(|| bad("a message is cut short"))?;
            at += 4;
        }
        if length <= 0 {
            return Ok(());
        }
        let end = at + usize::try_from(length).map_err(bad)?;
        let message = root_as_message(bytes.get(at..end).ok_or_else(|| bad("a message is cut short"))?).map_err(bad)?;
        at = end;
        let body_end = at + usize::try_from(message.bodyLength()).map_err(bad)?;
        let body = bytes.get(at..body_end).ok_or_else(|| bad("a message body is cut short"))?;
        at = body_end;
        match message.header_type() {
            MessageHeader::Schema => {
                let fb = message.header_as_schema().ok_or_else(|| bad("an unreadable schema"))?;
                let read = try_fb_to_schema(fb).map_err(bad)?;
                let fields: Vec<Field> = read.fields().iter().map(|f| nullable(f)).collect();
                schema = Some(Arc::new(Schema::new_with_metadata(fields, read.metadata().clone())));
            }
            MessageHeader::RecordBatch => {
                let header = message.header_as_record_batch().ok_or_else(|| bad("an unreadable record batch"))?;
                let schema = schema.clone().ok_or_else(|| bad("rows before their schema"))?;
                let body = arrow_buffer::Buffer::from(body.to_vec());
                let batch = read_record_batch(&body, header, schema, &no_dictionaries, None, &message.version())
                    .map_err(bad)?;
                each(batch)?;
            }
            other => return Err(bad(format!("unexpected {other:?} message"))),
        }
    }
    Ok(())
}
