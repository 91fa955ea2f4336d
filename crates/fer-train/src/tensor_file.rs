//! Tensor files in the safetensors format, written byte-for-byte deterministically (names sorted,
//! metadata sorted) with a sha256 of the payload in the metadata so damage is detected on read;
//! a sealed file also carries a sha256 over all its metadata, so an edited header is caught too.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};
use tch::{Device, Kind, Tensor};

use fer_core::digest::hex;
use fer_core::store::write_atomic;
use fer_core::store::StoreError;

/// Metadata key holding the payload's sha256.
const PAYLOAD_SHA: &str = "payload_sha256";
/// Metadata key of the seal: the sha256 of every other metadata entry, the payload's sha256
/// included, so a sealed file's header and payload are both covered.
const SEAL: &str = "seal_sha256";

/// The seal of `metadata` (computed over every entry but the seal itself).
fn seal_of(metadata: &BTreeMap<String, String>) -> String {
    let rest: BTreeMap<&String, &String> = metadata.iter().filter(|(k, _)| k.as_str() != SEAL).collect();
    hex(&Sha256::digest(serde_json::to_vec(&rest).unwrap_or_default()))
}

fn dtype_name(kind: Kind) -> Option<&'static str> {
    Some(match kind {
        Kind::Float => "F32",
        Kind::Double => "F64",
        Kind::Half => "F16",
        Kind::BFloat16 => "BF16",
        Kind::Int64 => "I64",
        Kind::Int => "I32",
        Kind::Int16 => "I16",
        Kind::Int8 => "I8",
        Kind::Uint8 => "U8",
        Kind::Bool => "BOOL",
        _ => return None,
    })
}

fn dtype_kind(name: &str) -> Option<Kind> {
    Some(match name {
        "F32" => Kind::Float,
        "F64" => Kind::Double,
        "F16" => Kind::Half,
        "BF16" => Kind::BFloat16,
        "I64" => Kind::Int64,
        "I32" => Kind::Int,
        "I16" => Kind::Int16,
        "I8" => Kind::Int8,
        "U8" => Kind::Uint8,
        "BOOL" => Kind::Bool,
        _ => return None,
    })
}

/// The raw bytes of a tensor (copied to the CPU, contiguous).
pub fn tensor_bytes(t: &Tensor) -> Vec<u8> {
    let t = t.to_device(Device::Cpu).contiguous();
    let numel = t.numel();
    let mut buf = vec![0u8; numel * t.kind().elt_size_in_bytes()];
    if numel > 0 {
        t.copy_data_u8(&mut buf, numel);
    }
    buf
}

/// Encodes tensors (sorted by name) and metadata into safetensors bytes.
pub fn encode(tensors: &[(String, Tensor)], metadata: &BTreeMap<String, String>) -> Result<Vec<u8>, String> {
    encode_inner(tensors, metadata, false)
}

/// Like [`encode`], with a seal over the metadata (see [`decode`]).
pub fn encode_sealed(tensors: &[(String, Tensor)], metadata: &BTreeMap<String, String>) -> Result<Vec<u8>, String> {
    encode_inner(tensors, metadata, true)
}

fn encode_inner(
    tensors: &[(String, Tensor)],
    metadata: &BTreeMap<String, String>,
    seal: bool,
) -> Result<Vec<u8>, String> {
    let mut sorted: Vec<&(String, Tensor)> = tensors.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let mut header = Map::new();
    let mut payload = Vec::new();
    for (name, t) in sorted {
        let dtype =
            dtype_name(t.kind()).ok_or_else(|| format!("tensor `{name}` has unsupported kind {:?}", t.kind()))?;
        let bytes = tensor_bytes(t);
        let start = payload.len();
        payload.extend_from_slice(&bytes);
        header.insert(name.clone(), json!({"dtype": dtype, "shape": t.size(), "data_offsets": [start, payload.len()]}));
    }
    let mut meta: BTreeMap<String, String> = metadata.clone();
    meta.remove(SEAL);
    meta.insert(PAYLOAD_SHA.into(), hex(&Sha256::digest(&payload)));
    if seal {
        let s = seal_of(&meta);
        meta.insert(SEAL.into(), s);
    }
    header.insert("__metadata__".into(), json!(meta));
    let mut head = serde_json::to_vec(&Value::Object(header)).map_err(|e| e.to_string())?;
    while head.len() % 8 != 0 {
        head.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + head.len() + payload.len());
    out.extend_from_slice(&(head.len() as u64).to_le_bytes());
    out.extend_from_slice(&head);
    out.extend_from_slice(&payload);
    Ok(out)
}

/// Writes a tensor file atomically.
pub fn write(path: &Path, tensors: &[(String, Tensor)], metadata: &BTreeMap<String, String>) -> Result<(), StoreError> {
    let bytes = encode(tensors, metadata).map_err(|m| StoreError::format(path, m))?;
    write_atomic(path, &bytes)
}

/// Writes a sealed tensor file atomically (its header is covered by the seal).
pub fn write_sealed(
    path: &Path,
    tensors: &[(String, Tensor)],
    metadata: &BTreeMap<String, String>,
) -> Result<(), StoreError> {
    let bytes = encode_sealed(tensors, metadata).map_err(|m| StoreError::format(path, m))?;
    write_atomic(path, &bytes)
}

/// A decoded tensor file.
#[derive(Debug)]
pub struct TensorFile {
    pub tensors: Vec<(String, Tensor)>,
    pub metadata: BTreeMap<String, String>,
}

impl TensorFile {
    pub fn get(&self, name: &str) -> Option<&Tensor> {
        self.tensors.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }
}

use fer_core::records::metadata_of;

/// Reads and checks a tensor file (header, sizes, payload hash).
pub fn read(path: &Path) -> Result<TensorFile, StoreError> {
    let bytes = std::fs::read(path).map_err(|e| StoreError::io(path, e))?;
    decode(&bytes).map_err(|m| StoreError::format(path, m))
}

/// Decodes safetensors bytes; fails on truncation, a payload that does not match its hash, or
/// (in a sealed file) metadata that does not match the seal.
pub fn decode(bytes: &[u8]) -> Result<TensorFile, String> {
    let head_len = bytes.get(..8).ok_or("file is truncated (no header)")?;
    let head_len = u64::from_le_bytes(head_len.try_into().map_err(|_| "bad header")?) as usize;
    let head_end = 8usize.checked_add(head_len).filter(|e| *e <= bytes.len()).ok_or("file is truncated (header)")?;
    let header: Map<String, Value> =
        serde_json::from_slice(&bytes[8..head_end]).map_err(|e| format!("bad header: {e}"))?;
    let payload = &bytes[head_end..];
    let metadata = metadata_of(&header);
    let mut tensors = Vec::new();
    for (name, info) in &header {
        if name == "__metadata__" {
            continue;
        }
        let dtype = info["dtype"].as_str().and_then(dtype_kind).ok_or_else(|| format!("tensor `{name}`: bad dtype"))?;
        let shape: Vec<i64> =
            serde_json::from_value(info["shape"].clone()).map_err(|e| format!("tensor `{name}`: {e}"))?;
        let offs: [usize; 2] =
            serde_json::from_value(info["data_offsets"].clone()).map_err(|e| format!("tensor `{name}`: {e}"))?;
        let numel: i64 = shape.iter().product();
        if offs[1] < offs[0]
            || offs[1] > payload.len()
            || (offs[1] - offs[0]) != numel as usize * dtype.elt_size_in_bytes()
        {
            return Err(format!("tensor `{name}` is truncated or its size does not match its shape"));
        }
        let t = Tensor::from_data_size(&payload[offs[0]..offs[1]], &shape, dtype);
        tensors.push((name.clone(), t));
    }
    match metadata.get(PAYLOAD_SHA) {
        Some(expected) if *expected == hex(&Sha256::digest(payload)) => {}
        Some(_) => return Err("payload does not match its sha256 (the file was altered)".into()),
        None => {}
    }
    if let Some(seal) = metadata.get(SEAL) {
        if *seal != seal_of(&metadata) {
            return Err("header does not match its seal (the file was altered)".into());
        }
    }
    tensors.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(TensorFile { tensors, metadata })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_is_deterministic_and_detects_damage() {
        let a = Tensor::from_slice(&[1.0f32, 2.0, 3.0]).reshape([3, 1]);
        let b = Tensor::from_slice(&[7u8, 8]);
        let meta = BTreeMap::from([("x".to_string(), "1".to_string())]);
        let one = encode(&[("b".into(), b.shallow_clone()), ("a".into(), a.shallow_clone())], &meta).unwrap();
        let two = encode(&[("a".into(), a.shallow_clone()), ("b".into(), b.shallow_clone())], &meta).unwrap();
        assert_eq!(one, two);
        let f = decode(&one).unwrap();
        assert_eq!(f.get("a").unwrap().size(), vec![3, 1]);
        assert_eq!(f.metadata["x"], "1");
        assert!(f.get("a").unwrap().equal(&a));
        let mut bad = one.clone();
        let n = bad.len();
        bad[n - 1] ^= 1;
        assert!(decode(&bad).unwrap_err().contains("altered"));
        assert!(decode(&one[..one.len() - 3]).is_err());
        assert!(decode(&one[..4]).is_err());
    }

    #[test]
    fn a_sealed_header_cannot_be_edited() {
        let a = Tensor::from_slice(&[1.0f32, 2.0]);
        let meta = BTreeMap::from([("epochs_done".to_string(), "2".to_string())]);
        let sealed = encode_sealed(&[("a".into(), a.shallow_clone())], &meta).unwrap();
        let f = decode(&sealed).unwrap();
        assert_eq!(f.metadata["epochs_done"], "2");
        assert!(f.metadata.contains_key(SEAL));
        // The same edit in an unsealed file goes unnoticed; in a sealed one it is caught.
        let edit = |bytes: &[u8]| {
            let from = b"\"epochs_done\":\"2\"";
            let at = bytes.windows(from.len()).position(|w| w == from).unwrap();
            let mut out = bytes.to_vec();
            out[at + from.len() - 2] = b'1';
            out
        };
        let plain = encode(&[("a".into(), a.shallow_clone())], &meta).unwrap();
        assert_eq!(decode(&edit(&plain)).unwrap().metadata["epochs_done"], "1");
        let err = decode(&edit(&sealed)).unwrap_err();
        assert!(err.contains("seal"), "{err}");
    }
}
