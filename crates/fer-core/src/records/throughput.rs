//! `throughput.json` of a throughput job: a network's inference speed on the CPU at each batch
//! size and thread count, with the machine's CPU model.

use serde::{Deserialize, Serialize};

/// Version of `throughput.json`.
pub const THROUGHPUT_FORMAT: u32 = 1;

/// `throughput.json` of a throughput job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThroughputRecord {
    pub format_version: u32,
    /// The network, e.g. `microexpnet-xxs`.
    pub network: String,
    pub classes: usize,
    /// Always `cpu`: the claim measured against is a CPU's.
    pub device: String,
    /// The CPU's model name (`/proc/cpuinfo`), or `unknown`.
    pub cpu_model: String,
    /// Logical CPUs of the machine.
    pub machine_cpus: u32,
    /// One row per batch size and thread count.
    pub measurements: Vec<SpeedRow>,
}

/// One measurement: the median of timed forward passes (random inputs, evaluation mode, no
/// gradients), after warm-up passes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeedRow {
    pub batch: u32,
    /// `1` or `all`.
    pub threads: String,
    /// The intra-op threads that `all` came to (the CPUs the job could use).
    pub thread_count: u32,
    /// Timed passes.
    pub repeats: u32,
    /// Median milliseconds per forward pass of the batch.
    pub ms_per_batch: f64,
    pub ms_per_image: f64,
    pub images_per_s: f64,
    /// Images per second of the fastest pass (what the CPU does when nothing competes for it).
    pub best_images_per_s: f64,
}

impl SpeedRow {
    /// A row from the median and the fastest time of a pass of `batch` images (ms).
    pub fn new(
        batch: u32,
        threads: &str,
        thread_count: u32,
        repeats: u32,
        ms_per_batch: f64,
        fastest: f64,
    ) -> SpeedRow {
        let per_s = |ms: f64| if ms > 0.0 { 1000.0 * batch.max(1) as f64 / ms } else { f64::INFINITY };
        SpeedRow {
            batch,
            threads: threads.into(),
            thread_count,
            repeats,
            ms_per_batch,
            ms_per_image: ms_per_batch / batch.max(1) as f64,
            images_per_s: per_s(ms_per_batch),
            best_images_per_s: per_s(fastest),
        }
    }
}

/// The CPU's model name from `/proc/cpuinfo` text (`model name`, else `Hardware`/`Processor`,
/// as on ARM), or `unknown`.
pub fn cpu_model(cpuinfo: &str) -> String {
    ["model name", "Hardware", "Processor"]
        .iter()
        .find_map(|key| {
            cpuinfo.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.trim() == *key && !v.trim().is_empty()).then(|| v.trim().to_string())
            })
        })
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_convert_batch_time_to_images_per_second() {
        // 64 images in 32 ms: 0.5 ms per image, 2000 images/s.
        let r = SpeedRow::new(64, "all", 4, 10, 32.0, 16.0);
        assert_eq!((r.ms_per_image, r.images_per_s, r.best_images_per_s), (0.5, 2000.0, 4000.0));
        // MicroExpNet's claim: 1851 images/s is 0.54 ms per image.
        let claim = SpeedRow::new(1, "1", 1, 1, 1000.0 / 1851.0, 1000.0 / 1851.0);
        assert!((claim.ms_per_image - 0.54).abs() < 0.001);
    }

    #[test]
    fn cpu_model_from_cpuinfo() {
        let x86 = "processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz\n";
        assert_eq!(cpu_model(x86), "Intel(R) Core(TM) i7-8700 CPU @ 3.20GHz");
        assert_eq!(cpu_model("processor : 0\nHardware : BCM2835\n"), "BCM2835");
        assert_eq!(cpu_model(""), "unknown");
    }
}
