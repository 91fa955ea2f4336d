//! The log (tracing to stderr) and how a command's result ends the process: its output on
//! stdout, or its error with every cause on stderr and the documented exit code.

use tracing_subscriber::EnvFilter;

use crate::error::Error;

/// Logs to stderr: errors only with `--quiet`, warnings by default, more with `-v`/`-vv`;
/// `RUST_LOG` overrides.
pub fn init(quiet: bool, verbose: u8) {
    let default = match (quiet, verbose) {
        (true, _) => "error",
        (_, 0) => "warn",
        (_, 1) => "info",
        _ => "debug",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_target(false).init();
}

/// Prints the output, or the error and its chain of causes (`caused by: ...`, each once), and
/// exits with the error's code.
pub fn finish(result: Result<String, Error>) {
    match result {
        Ok(out) => {
            #[allow(clippy::print_stdout)] // the one place a command's output reaches stdout
            {
                print!("{out}")
            }
        }
        Err(e) => {
            eprintln!("error: {}", chain(&e));
            std::process::exit(e.exit_code());
        }
    }
}

/// The error's message, then each cause that its message does not already include.
pub fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let msg = c.to_string();
        if !text.contains(&msg) {
            text.push_str("\n  caused by: ");
            text.push_str(&msg);
        }
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("failed to read `a.yaml`")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn chain_prints_causes_not_in_the_message() {
        let e = Outer(std::io::Error::other("permission denied"));
        assert_eq!(chain(&e), "failed to read `a.yaml`\n  caused by: permission denied");
        let transparent = std::io::Error::other("disk full");
        assert_eq!(chain(&transparent), "disk full");
    }
}
