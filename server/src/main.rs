//! `kiln`: serve the web UI and API, or manage accounts from the command line.

use clap::Parser;
use server::config::{Cli, Command};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    server::telemetry::init(cli.config.log_format);
    match server::cli::run(cli.config, cli.command.unwrap_or(Command::Serve)).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
