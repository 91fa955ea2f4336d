//! The command line (clap): commands, their options and the global flags.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};

/// Reproducible facial-emotion-recognition experiments: Deep-Emotion vs MicroExpNet.
#[derive(Debug, Parser)]
#[command(
    name = "fer-pipeline",
    version = crate::version::short(),
    long_version = crate::version::long(),
    about,
    long_about = None,
    after_help = crate::error::exit_codes_help()
)]
pub struct Cli {
    /// Store folder (default: the pipeline's `store`, else `experiments`).
    #[arg(long, global = true, env = "FER_STORE", value_name = "DIR")]
    pub store: Option<PathBuf>,
    /// More output (-v: per-epoch lines; -vv: debug logs).
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
    /// Only errors and the final summary.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

/// Which pipeline, with which overlays.
#[derive(Debug, Clone, Args)]
pub struct PipelineArgs {
    /// The pipeline file.
    #[arg(default_value = "pipeline.yaml", value_name = "PIPELINE")]
    pub pipeline: PathBuf,
    /// Profile to overlay (default: the file's `default_profile`; `none` for no profile).
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Override a value, e.g. `--set models.deep-emotion.epochs=3` (repeatable; YAML values).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub sets: Vec<String>,
    /// Skip corrupt images and bad rows of real data sets (counted in the report) instead of failing.
    #[arg(long)]
    pub skip_bad: bool,
}

/// Where and how jobs run.
#[derive(Debug, Clone, Args)]
pub struct ExecArgs {
    /// Jobs at once (default: cores / threads on CPU, jobs_per_gpu x GPUs on CUDA).
    #[arg(short = 'j', long, value_name = "N")]
    pub jobs: Option<usize>,
    /// `auto`, `cpu`, `cuda` or `cuda:N` (default: the pipeline's `device`).
    #[arg(long, value_name = "DEVICE")]
    pub device: Option<String>,
    /// Intra-op threads per job (default: the pipeline's `threads`).
    #[arg(long, value_name = "N")]
    pub threads: Option<u32>,
}

/// Machine-readable event streams of `run`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EventsFormat {
    /// One JSON object per line per job event.
    Jsonl,
}

/// Formats of `export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// ONNX, opset 17.
    Onnx,
    /// TorchScript (traced), for `torch.jit.load` and LibTorch C++.
    Torchscript,
}

#[derive(Debug, Subcommand)]
pub enum DataCommand {
    /// Presence, per-file hash check (naming each file that differs), counts per class, split
    /// and subject. Default: every manifest.
    Verify {
        names: Vec<String>,
        #[arg(long, default_value = "data-manifests", value_name = "DIR")]
        manifests: PathBuf,
    },
    /// Write the sha256 of every file of a local copy into the data set's manifest.
    Hash {
        name: String,
        #[arg(long, default_value = "data-manifests", value_name = "DIR")]
        manifests: PathBuf,
    },
    /// Decode a pipeline's data sets into hash-addressed tensor files (its prepare jobs only).
    Prepare {
        #[command(flatten)]
        pipeline: PipelineArgs,
        #[command(flatten)]
        exec: ExecArgs,
    },
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Plan, train what is missing, evaluate; resumes interrupted work.
    Run {
        #[command(flatten)]
        pipeline: PipelineArgs,
        #[command(flatten)]
        exec: ExecArgs,
        /// Fail when a data set is absent instead of skipping its jobs.
        #[arg(long)]
        strict: bool,
        /// Where the report goes at the end.
        #[arg(long, env = "FER_REPORT_DIR", default_value = "reports", value_name = "DIR")]
        report_dir: PathBuf,
        /// Do not write the report at the end.
        #[arg(long)]
        no_report: bool,
        /// Stream job events on stdout, one JSON object per line (`jsonl`); the results table and
        /// progress then go to stderr.
        #[arg(long, value_name = "FORMAT")]
        events: Option<EventsFormat>,
    },
    /// Show the job DAG and what is cached (a dry run).
    Plan {
        #[command(flatten)]
        pipeline: PipelineArgs,
        /// Say why each job must run (and what changed since a similar entry).
        #[arg(long)]
        explain: bool,
        /// Print the DAG as Graphviz dot.
        #[arg(long, conflicts_with = "mermaid")]
        dot: bool,
        /// Print the DAG as a Mermaid flowchart.
        #[arg(long, conflicts_with = "json")]
        mermaid: bool,
        /// Print the plan as one JSON document (`format_version` 1; see the README).
        #[arg(long, conflicts_with = "dot")]
        json: bool,
    },
    /// Done / running / failed / pending per job, with results.
    Status {
        #[command(flatten)]
        pipeline: PipelineArgs,
        /// Print the status as one JSON document (`format_version` 1; see the README).
        #[arg(long, conflicts_with = "watch")]
        json: bool,
        /// Redraw the progress every `--interval` seconds until every job is done (Ctrl-C leaves);
        /// one line per change when stdout is not a terminal.
        #[arg(long)]
        watch: bool,
        /// Seconds between two looks of `--watch`.
        #[arg(long, default_value_t = 2.0, value_name = "SECS", requires = "watch")]
        interval: f64,
    },
    /// Tables (CSV, Parquet), charts (PNG, SVG) and reports/index.html from finished evaluations:
    /// of the given pipeline, or of the whole store when none is given.
    Report {
        /// The pipeline whose jobs to report (default: every finished evaluation in the store).
        #[arg(value_name = "PIPELINE")]
        pipeline: Option<PathBuf>,
        #[arg(long, value_name = "NAME")]
        profile: Option<String>,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// Output folder.
        #[arg(long, default_value = "reports", value_name = "DIR")]
        out: PathBuf,
        /// Check every artifact's sha256, not only its size.
        #[arg(long)]
        full_verify: bool,
        /// Write into a non-empty folder that holds no earlier report (files it did not write are
        /// never deleted either way).
        #[arg(long)]
        force: bool,
    },
    /// Queue the missing jobs on Slurm as job arrays chained by afterok (returns at once).
    Submit {
        #[command(flatten)]
        pipeline: PipelineArgs,
        #[arg(long)]
        partition: Option<String>,
        #[arg(long)]
        account: Option<String>,
        /// At most K tasks of an array at once (`%K`).
        #[arg(long, value_name = "K")]
        array_limit: Option<u32>,
        /// Print the sbatch scripts; submit nothing, write nothing.
        #[arg(long)]
        dry_run: bool,
        /// The binary the tasks run (default: this one; must be reachable from the nodes).
        #[arg(long, value_name = "PATH")]
        exe: Option<PathBuf>,
        /// Device of the tasks (default: `slurm.device`, else the pipeline's `device`).
        #[arg(long)]
        device: Option<String>,
    },
    /// Remove store entries that no recorded root (every `run` and `submit` records one) and no
    /// given pipeline (in any of its profiles) refers to. Lists them first; asks on a terminal,
    /// needs `--yes` elsewhere.
    Gc {
        /// Pipelines whose entries are kept too, besides the recorded roots.
        #[arg(value_name = "PIPELINE")]
        pipelines: Vec<PathBuf>,
        /// List what would be removed, remove nothing.
        #[arg(long)]
        dry_run: bool,
        /// Remove without asking (required when stdin is not a terminal).
        #[arg(short = 'y', long)]
        yes: bool,
        /// Collect even when a given pipeline's data set is absent here (its entries are then kept
        /// only by roots), or when nothing would be kept.
        #[arg(long)]
        force: bool,
        /// List the recorded roots (id, name, profile, jobs, time, file, `--set` values) and exit.
        #[arg(long, conflicts_with_all = ["forget", "dry_run", "yes", "force"])]
        list_roots: bool,
        /// Drop a recorded root (its id, or a unique prefix of 4+ digits); repeatable. Removes no entry.
        #[arg(long, value_name = "ROOT", conflicts_with_all = ["dry_run", "yes", "force"])]
        forget: Vec<String>,
    },
    /// Real data sets: check them against their manifests, hash a local copy, prepare them.
    Data {
        #[command(subcommand)]
        command: DataCommand,
    },
    /// Check the installation: LibTorch, CUDA, GPUs, threads, store.
    Doctor,
    /// List model architectures with input size, classes and trainable parameters.
    Models {
        /// Print the list as one JSON document (`format_version` 1; see the README).
        #[arg(long)]
        json: bool,
    },
    /// Print a shell completion script on stdout, e.g.
    /// `fer-pipeline completions bash > ~/.local/share/bash-completion/completions/fer-pipeline`.
    Completions {
        /// `bash`, `zsh`, `fish` (also `elvish`, `powershell`).
        shell: clap_complete::Shell,
    },
    /// Benchmarks, side by side in one run: training images/s and latency against PyTorch eager
    /// (the venv's torch, or FER_BENCH_PYTHON), and planning / no-op re-run times. Writes CSV.
    Bench {
        /// Intra-op threads for both sides.
        #[arg(long, default_value_t = 2)]
        threads: u32,
        #[arg(long, default_value = "cpu")]
        device: String,
        /// Timed training steps per model.
        #[arg(long, default_value_t = 30)]
        steps: usize,
        /// Sections to run: train, latency, pack, plan, faces (default: all but pack).
        #[arg(long = "only", value_name = "SECTION")]
        sections: Vec<String>,
        /// Largest planning benchmark, in jobs (1,000 x 10^k).
        #[arg(long, default_value_t = 100_000)]
        plan_max: usize,
        /// Only these models (e.g. `deep-emotion`, `microexpnet-xxs`).
        #[arg(long = "models", value_name = "MODEL")]
        models: Vec<String>,
        /// Skip the PyTorch side.
        #[arg(long)]
        no_reference: bool,
        #[arg(long, default_value = "reports/bench.csv")]
        out: PathBuf,
    },
    /// Export a trained model as ONNX or TorchScript with a JSON sidecar (`<out>.json`) saying
    /// how to feed it raw grayscale faces; prints its size and our latency.
    Export {
        /// A pipeline file (then choose with --model, --dataset, --seed, --fold), a train entry
        /// id `train/<hash16>`, or `released:microexpnet-ck` / `released:microexpnet-oulu-casia`.
        #[arg(default_value = "pipeline.yaml", value_name = "PIPELINE|ID|released:NAME")]
        target: String,
        #[arg(long, value_name = "NAME")]
        profile: Option<String>,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// The model's name in the pipeline.
        #[arg(long, value_name = "NAME")]
        model: Option<String>,
        /// The data set's name in the pipeline.
        #[arg(long, value_name = "NAME")]
        dataset: Option<String>,
        #[arg(long, value_name = "N")]
        seed: Option<u64>,
        /// The test fold under a k-fold protocol.
        #[arg(long, value_name = "K")]
        fold: Option<u32>,
        #[arg(long, value_enum)]
        format: ExportFormat,
        /// The file to write (its sidecar goes to `<out>.json`).
        #[arg(long, value_name = "PATH")]
        out: PathBuf,
        /// Also write fixed inputs with our logits on them (JSON), to check the export against.
        #[arg(long, value_name = "FILE", hide = true)]
        reference: Option<PathBuf>,
        /// Load the export in onnxruntime / torch (`scripts/check-export.py` with FER_BENCH_PYTHON,
        /// else `.venv/bin/python`), compare its logits with ours (1e-4) and print its latency at
        /// batch 1 on one thread beside ours; a mismatch removes the export (exit 6).
        #[arg(long)]
        check: bool,
    },
    /// Classify the faces of photographs: every face the detector finds (the one `prepare`'s
    /// `detect` crop uses) gets the model's class probabilities, one CSV row per face.
    Predict {
        /// Photographs (PNG, JPEG, TIFF) or folders of them (searched recursively).
        #[arg(required = true, value_name = "PHOTO|FOLDER")]
        inputs: Vec<PathBuf>,
        /// `released:microexpnet-ck` or `released:microexpnet-oulu-casia` (the authors' models),
        /// `tf:PREFIX` (a MicroExpNet checkpoint of the authors' code), `train/<hash16>` (a finished
        /// train entry of the store), or a model's name in `--pipeline` (with --dataset, --seed, --fold).
        #[arg(long, default_value = "released:microexpnet-ck", value_name = "MODEL")]
        model: String,
        /// The pipeline file a model name refers to.
        #[arg(long, default_value = "pipeline.yaml", value_name = "FILE")]
        pipeline: PathBuf,
        #[arg(long, value_name = "NAME")]
        profile: Option<String>,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        sets: Vec<String>,
        /// The data set's name in the pipeline.
        #[arg(long, value_name = "NAME")]
        dataset: Option<String>,
        #[arg(long, value_name = "N")]
        seed: Option<u64>,
        /// The test fold under a k-fold protocol.
        #[arg(long, value_name = "K")]
        fold: Option<u32>,
        /// Write the CSV here (whole or not at all) instead of to stdout.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Also write each photograph with its faces' boxes and labels as `DIR/<name>.png`.
        #[arg(long, value_name = "DIR")]
        annotate: Option<PathBuf>,
        /// The smallest face looked for, in pixels (at least 20).
        #[arg(long, default_value_t = 20, value_name = "PX")]
        min_face: u32,
        #[arg(long, default_value = "cpu")]
        device: String,
    },
    /// Run one job of the store by id (`<kind>/<hash16>`); used by `run` and cluster tasks.
    Exec {
        /// The job, as `<kind>/<hash16>` or a hash.
        id: String,
        #[arg(long, default_value = "auto")]
        device: String,
        #[arg(long, default_value_t = 1)]
        threads: u32,
        #[arg(long, default_value_t = true, action = ArgAction::Set)]
        deterministic: bool,
        /// Inside a Slurm task: when stopped by a signal (or failed with retries left), ask
        /// Slurm to requeue this task.
        #[arg(long)]
        requeue: bool,
        /// Failed attempts to retry (with --requeue).
        #[arg(long, default_value_t = 0)]
        retries: u32,
    },
}
