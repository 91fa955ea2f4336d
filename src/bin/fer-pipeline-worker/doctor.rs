//! `fer-pipeline doctor`: LibTorch and CUDA as this process sees them, GPUs, threads, store.

use std::path::PathBuf;

use fer_pipeline::commands::context::store_for;
use fer_pipeline::error::Error;

/// LibTorch libraries mapped into this process, from `/proc/self/maps`.
fn loaded_torch_libs() -> Vec<String> {
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
    let mut libs: Vec<String> = maps
        .lines()
        .filter_map(|l| l.split_whitespace().nth(5))
        .filter(|p| p.contains("libtorch") || p.contains("libc10"))
        .map(str::to_string)
        .collect();
    libs.sort();
    libs.dedup();
    libs
}

/// `fer-pipeline doctor`.
pub(crate) fn doctor_cmd(store_flag: &Option<PathBuf>) -> Result<String, Error> {
    let cuda = tch::Cuda::is_available();
    let mut out = String::new();
    out.push_str(&format!("fer-pipeline     {}\n", env!("CARGO_PKG_VERSION")));
    out.push_str(&format!("libtorch         {} (built against)\n", fer_pipeline::LIBTORCH_VERSION));
    let libs = loaded_torch_libs();
    let cuda_lib = libs.iter().any(|l| l.contains("libtorch_cuda.so"));
    for l in &libs {
        out.push_str(&format!("loaded           {l}\n"));
    }
    out.push_str(&format!(
        "libtorch_cuda    {}\n",
        if cuda_lib { "loaded" } else { "NOT loaded: this binary cannot use CUDA" }
    ));
    out.push_str(&format!("cuda available   {cuda}\n"));
    out.push_str(&format!("cuda devices     {}\n", tch::Cuda::device_count()));
    out.push_str(&format!("cudnn available  {}\n", tch::Cuda::cudnn_is_available()));
    for (i, n) in fer_core::gpus::names().iter().enumerate() {
        out.push_str(&format!("gpu {i}            {n}\n"));
    }
    out.push_str(&format!("cpu cores        {}\n", std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)));
    out.push_str(&format!("torch threads    {} (per job: the pipeline's `threads`)\n", tch::get_num_threads()));
    let store = store_for(store_flag, None);
    let state = match store.check() {
        Ok(()) if store.root().join("store.json").exists() => {
            format!("{} entries", store.list().map(|l| l.len()).unwrap_or(0))
        }
        Ok(()) => "not created yet".into(),
        Err(e) => e.to_string(),
    };
    out.push_str(&format!("store            {} ({state})\n", store.root().display()));
    Ok(out)
}
