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
