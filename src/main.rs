//! The `fer-pipeline` binary: parses the command line, runs it, maps errors to exit codes.

use clap::Parser;
use tracing_subscriber::EnvFilter;

fn main() {
    let cli = fer_pipeline::cli::Cli::parse();
    let default = match (cli.quiet, cli.verbose) {
        (true, _) => "error",
        (_, 0) => "warn",
        (_, 1) => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).init();
    match fer_pipeline::commands::dispatch(&cli) {
        Ok(out) => {
            print!("{out}");
        }
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(e.exit_code());
        }
    }
}
