//! The machine's GPUs as the CUDA driver sees them (`CUDA_VISIBLE_DEVICES` applies), found
//! without LibTorch or nvidia-smi: for the executor's slots, `doctor` and the report.

use crate::spec::DeviceRequest;

/// Why the requested device cannot be used here.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DeviceError {
    #[error("failed to use CUDA: no CUDA device is available (use `--device cpu` or `auto`)")]
    NoCuda,
    #[error("failed to use `cuda:{index}`: this machine has {count} CUDA device(s)")]
    NoSuchDevice { index: usize, count: usize },
}

/// The CUDA devices jobs of `req` run on, as the worker will choose them (`auto`: every GPU the
/// driver sees, else none: the CPU), or why `req` cannot be met. Empty: the CPU.
pub fn cuda_devices(req: DeviceRequest) -> Result<Vec<usize>, DeviceError> {
    let count = || names().len();
    match req {
        DeviceRequest::Cpu => Ok(Vec::new()),
        DeviceRequest::Auto => Ok((0..count()).collect()),
        DeviceRequest::Cuda(n) => {
            let count = count();
            if count == 0 {
                return Err(DeviceError::NoCuda);
            }
            match n {
                Some(index) if index >= count => Err(DeviceError::NoSuchDevice { index, count }),
                Some(index) => Ok(vec![index]),
                None => Ok((0..count).collect()),
            }
        }
    }
}

/// GPU names from the CUDA driver (`libcuda.so.1`), without needing nvidia-smi.
pub fn names() -> Vec<String> {
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
