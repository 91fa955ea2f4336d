//! Resolving the requested device (`auto`, `cpu`, `cuda`, `cuda:N`) against this machine.

use tch::Device;

use fer_core::gpus::DeviceError;
use fer_core::spec::DeviceRequest;

/// The device a job runs on, as LibTorch sees this machine, or why it cannot.
pub fn resolve(req: DeviceRequest) -> Result<Device, DeviceError> {
    match req {
        DeviceRequest::Cpu => Ok(Device::Cpu),
        DeviceRequest::Auto => Ok(if tch::Cuda::is_available() { Device::Cuda(0) } else { Device::Cpu }),
        DeviceRequest::Cuda(n) => {
            let count = tch::Cuda::device_count();
            if count == 0 {
                return Err(DeviceError::NoCuda);
            }
            let i = n.unwrap_or(0);
            if i as i64 >= count {
                return Err(DeviceError::NoSuchDevice { index: i, count: count as usize });
            }
            Ok(Device::Cuda(i))
        }
    }
}

/// Lower-case name of a device, e.g. `cpu`, `cuda:0`.
pub fn name(d: Device) -> String {
    match d {
        Device::Cuda(i) => format!("cuda:{i}"),
        Device::Mps => "mps".into(),
        Device::Vulkan => "vulkan".into(),
        _ => "cpu".into(),
    }
}

/// Applies the determinism setting for CUDA runs (cuDNN autotuning off when deterministic).
pub fn configure(d: Device, deterministic: bool) {
    if d.is_cuda() {
        tch::Cuda::cudnn_set_benchmark(!deterministic);
    }
}
