//! Digests shared by the plan, the store and the report: lowercase hex, sha256, and the
//! canonical JSON text that job hashes are taken over.

use serde::Serialize;
use sha2::{Digest, Sha256};

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

/// The canonical text of a value: JSON with keys sorted (serde_json's default map is ordered)
/// and floats in their shortest round-trip form, so one value has one encoding.
pub fn canonical<T: Serialize>(value: &T) -> String {
    // Going through `Value` sorts every map's keys.
    let v = serde_json::to_value(value).expect("job specs serialize to JSON");
    serde_json::to_string(&v).expect("JSON values serialize")
}

/// sha256 of bytes as hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}
