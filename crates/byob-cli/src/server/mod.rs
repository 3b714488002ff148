//! The server side of the binary: configuration, start-up, serving, and maintenance commands.

mod bootstrap;
mod config;
mod http;
mod logging;
mod maintenance;
mod serve;

pub(crate) use maintenance::{config_command, key_status, prune_keys, rotate_key};
pub(crate) use serve::serve;
