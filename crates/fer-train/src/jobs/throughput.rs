//! The `throughput` job: a network's inference speed on the CPU at each batch size, on one
//! thread and on every CPU the job may use (what MicroExpNet's 1851 images/s is checked against).

use std::time::Instant;

use tch::{Device, Kind, Tensor};

use super::context::{JobContext, JobOutput, JobResult};
use crate::models::Model;
use fer_core::plan::{Threads, ThroughputSpec};
use fer_core::records::{cpu_model, SpeedRow, ThroughputRecord, THROUGHPUT_FILE, THROUGHPUT_FORMAT};
use fer_core::spec::{ModelSpec, Network};
use fer_core::store::write_json;

/// Warm-up and timed passes at a batch size: many at batch 1 (a fraction of a millisecond each),
/// fewer at larger batches.
fn passes(batch: u32) -> (usize, usize) {
    if batch <= 1 {
        (10, 100)
    } else {
        (2, 20)
    }
}

/// The median and the fastest of `repeats` timed forward passes of `batch` random images (ms),
/// after `warmup` passes: the median is the speed; the fastest, what the machine does when
/// nothing else competes for it.
fn time_passes(model: &Model, batch: i64, warmup: usize, repeats: usize) -> (f64, f64) {
    let side = model.spec.input_size() as i64;
    let x = model.preprocess(&(Tensor::rand([batch, 1, side, side], (Kind::Float, Device::Cpu)) * 255.0));
    tch::no_grad(|| {
        for _ in 0..warmup {
            let _ = model.forward_t(&x, false);
        }
        let mut times: Vec<f64> = (0..repeats.max(1))
            .map(|_| {
                let t = Instant::now();
                let _ = model.forward_t(&x, false);
                t.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        times.sort_by(f64::total_cmp);
        (times[times.len() / 2], times[0])
    })
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
            let (ms, fastest) = time_passes(&model, batch as i64, warmup, repeats);
            let row = SpeedRow::new(batch, t.name(), n, repeats as u32, ms, fastest);
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
