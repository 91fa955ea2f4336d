//! Runs a parsed command line: the one entry point of the binary.

use super::bench::{bench_cmd, BenchArgs};
use super::completions::completions_cmd;
use super::data::{hash_cmd, verify_cmd};
use super::doctor::doctor_cmd;
use super::exec::exec_cmd;
use super::export::{export_cmd, ExportArgs};
use super::gc::{gc_cmd, GcArgs};
use super::models::models_cmd;
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
                run_cmd(&cli.store, pipeline, exec, false, Some(crate::plan::JobKind::Prepare), None, v, None)
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
        Command::Doctor => doctor_cmd(&cli.store),
        Command::Models { json } => Ok(models_cmd(*json)),
        Command::Completions { shell } => Ok(completions_cmd(*shell)),
        Command::Bench { threads, device, steps, sections, plan_max, out, models, no_reference } => {
            bench_cmd(&BenchArgs {
                models: models.clone(),
                no_reference: *no_reference,
                threads: *threads,
                device: device.clone(),
                steps: *steps,
                sections: sections.clone(),
                out: out.clone(),
                plan_max: *plan_max,
            })
        }
        Command::Export { target, profile, sets, model, dataset, seed, fold, format, out, reference, check } => {
            export_cmd(
                &cli.store,
                &ExportArgs {
                    target: target.clone(),
                    profile: profile.clone(),
                    sets: sets.clone(),
                    choice: crate::export::select::Choice {
                        model: model.clone(),
                        dataset: dataset.clone(),
                        seed: *seed,
                        fold: *fold,
                    },
                    format: *format,
                    out: out.clone(),
                    reference: reference.clone(),
                    check: *check,
                },
            )
        }
        Command::Exec { id, device, threads, deterministic, requeue, retries } => {
            exec_cmd(&cli.store, id, device, *threads, *deterministic, requeue.then_some(*retries))
        }
    }
}
