//! Runs a parsed command line: the one entry point of `fer-pipeline`; the commands that need
//! LibTorch are handed to `fer-pipeline-worker` (`worker.rs`).

use super::completions::completions_cmd;
use super::data::{hash_cmd, verify_cmd};
use super::gc::{gc_cmd, GcArgs};
use super::plan::{plan_cmd, status_cmd};
use super::report::report_cmd;
use super::run::{run_cmd, Verbosity};
use super::submit::{submit_cmd, SubmitArgs};
use super::watch::watch_cmd;
use crate::cli::{Cli, Command, DataCommand, PipelineArgs};
use crate::error::Error;

/// Runs the command; returns what to print on stdout.
pub fn dispatch(cli: &Cli) -> Result<String, Error> {
    let v = Verbosity { verbose: cli.verbose, quiet: cli.quiet };
    match &cli.command {
        Command::Run { pipeline, exec, strict, report_dir, no_report, events } => {
            let report = (!no_report).then_some(report_dir.as_path());
            run_cmd(&cli.store, pipeline, exec, *strict, None, report, v, *events)
        }
        Command::Report { pipeline, profile, sets, out, full_verify, force } => {
            let args = pipeline.as_ref().map(|p| PipelineArgs {
                pipeline: p.clone(),
                profile: profile.clone(),
                sets: sets.clone(),
                skip_bad: false,
            });
            report_cmd(&cli.store, args.as_ref(), out, *full_verify, *force)
        }
        Command::Data { command } => match command {
            DataCommand::Verify { names, manifests } => verify_cmd(manifests, names),
            DataCommand::Hash { name, manifests } => hash_cmd(manifests, name),
            DataCommand::Prepare { pipeline, exec } => {
                run_cmd(&cli.store, pipeline, exec, false, Some(fer_core::plan::JobKind::Prepare), None, v, None)
            }
        },
        Command::Plan { pipeline, explain, dot, mermaid, json } => {
            plan_cmd(&cli.store, pipeline, *explain, *dot, *mermaid, *json)
        }
        Command::Status { pipeline, json, watch, interval } => match watch {
            true => watch_cmd(&cli.store, pipeline, *interval),
            false => status_cmd(&cli.store, pipeline, *json),
        },
        Command::Submit { pipeline, partition, account, array_limit, dry_run, exe, device } => submit_cmd(
            &cli.store,
            pipeline,
            &SubmitArgs {
                partition: partition.clone(),
                account: account.clone(),
                array_limit: *array_limit,
                dry_run: *dry_run,
                exe: exe.clone(),
                device: device.clone(),
            },
        ),
        Command::Gc { pipelines, dry_run, yes, force, list_roots, forget } => gc_cmd(
            &cli.store,
            &GcArgs {
                pipelines: pipelines.clone(),
                dry_run: *dry_run,
                yes: *yes,
                force: *force,
                list_roots: *list_roots,
                forget: forget.clone(),
            },
        ),
        Command::Completions { shell } => Ok(completions_cmd(*shell)),
        Command::Exec { id, device, threads, deterministic, requeue, retries } if super::worker::empty_jobs() => {
            let retries = requeue.then_some(*retries);
            super::exec::exec_cmd(&fer_core::exec::EmptyBody, &cli.store, id, device, *threads, *deterministic, retries)
        }
        // LibTorch's commands run in the worker (this process never loads LibTorch).
        Command::Doctor
        | Command::Models { .. }
        | Command::Bench { .. }
        | Command::Export { .. }
        | Command::Predict { .. }
        | Command::Exec { .. } => Err(super::worker::hand_over()),
    }
}
