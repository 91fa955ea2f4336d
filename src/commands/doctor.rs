//! `fer-pipeline doctor`: LibTorch and CUDA as this process sees them, GPUs, threads, store.

use std::path::PathBuf;

use super::context::store_for;
use crate::error::Error;

/// GPU names from the CUDA driver (`libcuda.so.1`), without needing nvidia-smi.
pub fn gpu_names() -> Vec<String> {
    // SAFETY: dlopen/dlsym of the CUDA driver API; each call has the driver's documented C
    // signature, buffers are sized as passed.
    unsafe {
        let lib = libc::dlopen(c"libcuda.so.1".as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL);
        if lib.is_null() {
            return vec![];
        }
        let init = libc::dlsym(lib, c"cuInit".as_ptr());
        let count = libc::dlsym(lib, c"cuDeviceGetCount".as_ptr());
        let get = libc::dlsym(lib, c"cuDeviceGet".as_ptr());
        let name = libc::dlsym(lib, c"cuDeviceGetName".as_ptr());
        if init.is_null() || count.is_null() || get.is_null() || name.is_null() {
            return vec![];
        }
        let init: extern "C" fn(u32) -> i32 = std::mem::transmute(init);
        let count: extern "C" fn(*mut i32) -> i32 = std::mem::transmute(count);
        let get: extern "C" fn(*mut i32, i32) -> i32 = std::mem::transmute(get);
        let name: extern "C" fn(*mut libc::c_char, i32, i32) -> i32 = std::mem::transmute(name);
        if init(0) != 0 {
            return vec![];
        }
        let mut n = 0;
        if count(&mut n) != 0 {
            return vec![];
        }
        (0..n)
            .filter_map(|i| {
                let mut dev = 0;
                if get(&mut dev, i) != 0 {
                    return None;
                }
                let mut buf = [0 as libc::c_char; 256];
                if name(buf.as_mut_ptr(), 256, dev) != 0 {
                    return None;
                }
                Some(std::ffi::CStr::from_ptr(buf.as_ptr()).to_string_lossy().into_owned())
            })
            .collect()
    }
}

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
pub fn doctor_cmd(store_flag: &Option<PathBuf>) -> Result<String, Error> {
    let cuda = tch::Cuda::is_available();
    let mut out = String::new();
    out.push_str(&format!("fer-pipeline     {}\n", env!("CARGO_PKG_VERSION")));
    out.push_str(&format!("libtorch         {} (built against)\n", crate::LIBTORCH_VERSION));
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
    for (i, n) in gpu_names().iter().enumerate() {
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
