//! Export of a trained model for deployment: ONNX and TorchScript, a preprocessing sidecar, and
//! what they are checked against.

pub mod check;
pub mod onnx;
mod onnx_proto;
pub mod select;
pub mod sidecar;
pub mod torchscript;
