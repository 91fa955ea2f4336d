//! `fer-pipeline completions SHELL`: the shell completion script of this command line (clap_complete).

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

/// The completion script for `shell`, to be sourced or installed by the user.
pub(super) fn completions_cmd(shell: Shell) -> String {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut cmd, "fer-pipeline", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}
