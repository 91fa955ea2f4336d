//! What is read of a training checkpoint without LibTorch: the header of a safetensors file and
//! the checkpoint's metadata keys, written by the trainer and shown by `status`.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{Map, Value};

/// Metadata key: epochs the checkpoint has finished.
pub const EPOCHS_DONE_KEY: &str = "epochs_done";
/// Metadata key: the thread count of the run that wrote it (a resumed CPU run keeps it).
pub const THREADS_KEY: &str = "threads";

/// The number of epochs the checkpoint at `path` has finished.
pub fn checkpoint_epochs_done(path: &Path) -> Option<u32> {
    safetensors_metadata(path)?.get(EPOCHS_DONE_KEY)?.parse().ok()
}

/// The metadata of a safetensors file, from its header only (the payload is not read).
pub fn safetensors_metadata(path: &Path) -> Option<BTreeMap<String, String>> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).ok()?;
    let mut len = [0u8; 8];
    f.read_exact(&mut len).ok()?;
    let n = u64::from_le_bytes(len) as usize;
    if n > 1 << 24 {
        return None;
    }
    let mut head = vec![0u8; n];
    f.read_exact(&mut head).ok()?;
    let header: Map<String, Value> = serde_json::from_slice(&head).ok()?;
    Some(metadata_of(&header))
}

/// The `__metadata__` strings of a parsed safetensors header.
pub fn metadata_of(header: &Map<String, Value>) -> BTreeMap<String, String> {
    let mut metadata = BTreeMap::new();
    if let Some(m) = header.get("__metadata__").and_then(Value::as_object) {
        for (k, v) in m {
            metadata.insert(k.clone(), v.as_str().unwrap_or_default().to_string());
        }
    }
    metadata
}
