//! The `byob` binary: `byob serve` runs the server; every other command is a client of its HTTP API, except
//! the maintenance commands (`config print`, `secrets rotate-key`, …) which work on the configuration and
//! catalog directly.

mod args;
mod asset_args;
mod attachment_args;
mod client;
mod data_args;
mod export_args;
mod import_args;
mod server;

use std::process::ExitCode;

use clap::Parser;

use crate::args::{ApiCommand, Cli, Command, SecretsCommand};

/// jemalloc rather than glibc's malloc: byob's streams allocate and free 8 MiB parts on many threads, and glibc's
/// dynamic mmap threshold moves such buffers into per-thread arenas that keep them once freed, so a server that
/// had streamed a few files sat on tens of megabytes it no longer used (bench/assets: 163 MB peak with glibc,
/// 134 MB with jemalloc). How soon it returns freed pages is set where it is built (`.cargo/config.toml`).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(opts) => server::serve(opts).await,
        Command::Config(cmd) => server::config_command(cmd),
        Command::Api(ApiCommand::Secrets(SecretsCommand::RotateKey(opts))) => server::rotate_key(opts).await,
        Command::Api(ApiCommand::Secrets(SecretsCommand::KeyStatus(opts))) => server::key_status(opts).await,
        Command::Api(ApiCommand::Secrets(SecretsCommand::PruneKeys(opts))) => server::prune_keys(opts).await,
        Command::Api(cmd) => client::run(&cli.client, cmd).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}
