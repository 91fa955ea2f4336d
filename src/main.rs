//! The `fer-pipeline` binary: parses the command line, runs it, maps errors to exit codes. It
//! never loads LibTorch: the commands that need it run in `fer-pipeline-worker`.

use clap::Parser;

fn main() {
    let cli = fer_pipeline::cli::Cli::parse();
    fer_pipeline::logging::init(cli.quiet, cli.verbose);
    fer_pipeline::finish(fer_pipeline::commands::dispatch(&cli));
}
