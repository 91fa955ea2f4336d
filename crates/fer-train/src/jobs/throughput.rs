//! The `throughput` job: a network's inference speed on the CPU at each batch size, on one
//! thread and on every CPU the job may use (what MicroExpNet's 1851 images/s is checked against).

use tch::Device;

use super::context::{JobContext, JobOutput, JobResult};
use crate::eval;
use crate::models::Model;
use fer_core::plan::{Threads, ThroughputSpec};
use fer_core::records::{cpu_model, SpeedRow, ThroughputRecord, THROUGHPUT_FILE, THROUGHPUT_FORMAT};
use fer_core::spec::{ModelSpec, Network};
use fer_core::store::write_json;

/// Warm-up and timed passes at a batch size: many at batch 1 (a fraction of a millisecond each),
/// fewer at larger batches; the median is kept.
fn passes(batch: u32) -> (usize, usize) {
    if batch <= 1 {
        (20, 200)
    } else {
        (3, 30)
    }
}

/// The model of a network (its dropout and input scaling do not change its speed in evaluation).
fn model_spec(net: Network) -> ModelSpec {
    match net {
        Network::DeepEmotion => ModelSpec::deep_emotion(),
        Network::MicroExpNet { variant } => ModelSpec::microexpnet(variant),
        Network::InceptionV3 { input_size } => ModelSpec::inception_v3(input_size),
    }
}

/// The intra-op threads a thread setting comes to here.
fn thread_count(t: Threads) -> u32 {
    match t {
        Threads::One => 1,
        Threads::All => std::thread::available_parallelism().map_or(1, |n| n.get() as u32),
    }
}

pub(super) fn run(ctx: &mut JobContext<'_>, spec: &ThroughputSpec) -> JobResult {
    tch::manual_seed(0);
    let model = Model::new(&model_spec(spec.network), spec.classes, Device::Cpu);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let machine_cpus = cpuinfo.lines().filter(|l| l.starts_with("processor")).count() as u32;
    let mut measurements = Vec::new();
    for &t in &spec.threads {
        let n = thread_count(t);
        tch::set_num_threads(n as i32);
        for &batch in &spec.batches {
            let (warmup, repeats) = passes(batch);
            let ms = eval::median_ms(&model, batch as i64, warmup, repeats);
            let row = SpeedRow::new(batch, t.name(), n, repeats as u32, ms);
            ctx.log.line(&format!(
                "batch {batch}, {n} thread(s): {:.3} ms per image, {:.0} images/s",
                row.ms_per_image, row.images_per_s
            ));
            measurements.push(row);
        }
    }
    let record = ThroughputRecord {
        format_version: THROUGHPUT_FORMAT,
        network: spec.network.display(),
        classes: spec.classes,
        device: "cpu".into(),
        cpu_model: cpu_model(&cpuinfo),
        machine_cpus: machine_cpus.max(1),
        measurements,
    };
    write_json(&ctx.entry.file(THROUGHPUT_FILE), &record)?;
    let best = record.measurements.iter().map(|r| r.images_per_s).fold(0.0, f64::max);
    let summary = format!("{}: up to {best:.0} images/s on the CPU ({})", record.network, record.cpu_model);
    Ok(Some(JobOutput { summary, files: vec![THROUGHPUT_FILE.into()] }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_network_builds_and_threads_resolve() {
        use fer_core::spec::Variant;
        for net in [
            Network::DeepEmotion,
            Network::MicroExpNet { variant: Variant::Xs },
            Network::InceptionV3 { input_size: 80 },
        ] {
            assert_eq!(model_spec(net).network(), net);
        }
        assert_eq!(thread_count(Threads::One), 1);
        assert!(thread_count(Threads::All) >= 1);
        assert!(passes(1).1 > passes(64).1);
    }
}
