//! `fer-pipeline-worker`: the LibTorch half of the command line. `fer-pipeline` hands it the
//! commands that need LibTorch (`exec`, `export`, `models`, `bench`, `doctor`) with their
//! arguments unchanged, and `run` starts it once per job; every other command behaves as in
//! `fer-pipeline` (the benchmark compares the two).

mod bench;
mod doctor;
mod export;
mod models;
mod predict;
mod trained;

use clap::Parser;
use fer_pipeline::cli::{Cli, Command};
use fer_pipeline::error::Error;
use fer_train::jobs::TorchJobs;

fn main() {
    let cli = Cli::parse();
    fer_pipeline::logging::init(cli.quiet, cli.verbose);
    fer_pipeline::finish(dispatch(&cli));
}

/// Runs LibTorch's commands here and every other one as `fer-pipeline` would.
fn dispatch(cli: &Cli) -> Result<String, Error> {
    match &cli.command {
        Command::Doctor => doctor::doctor_cmd(&cli.store),
        Command::Models { json } => Ok(models::models_cmd(*json)),
        Command::Bench { threads, device, steps, sections, plan_max, out, models, no_reference } => {
            bench::bench_cmd(&bench::BenchArgs {
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
            export::export_cmd(
                &cli.store,
                &export::ExportArgs {
                    target: target.clone(),
                    profile: profile.clone(),
                    sets: sets.clone(),
                    choice: fer_train::export::select::Choice {
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
        Command::Predict {
            inputs,
            model,
            pipeline,
            profile,
            sets,
            dataset,
            seed,
            fold,
            out,
            annotate,
            min_face,
            device,
        } => predict::predict_cmd(
            &cli.store,
            &predict::PredictArgs {
                inputs: inputs.clone(),
                model: model.clone(),
                pipeline: pipeline.clone(),
                profile: profile.clone(),
                sets: sets.clone(),
                choice: fer_train::export::select::Choice {
                    model: None,
                    dataset: dataset.clone(),
                    seed: *seed,
                    fold: *fold,
                },
                out: out.clone(),
                annotate: annotate.clone(),
                min_face: *min_face,
                device: device.clone(),
            },
        ),
        Command::Exec { id, device, threads, deterministic, requeue, retries } => {
            let retries = requeue.then_some(*retries);
            fer_pipeline::commands::exec_cmd(&TorchJobs, &cli.store, id, device, *threads, *deterministic, retries)
        }
        _ => fer_pipeline::commands::dispatch(cli),
    }
}
