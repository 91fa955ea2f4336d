//! Content hashes of jobs: sha256 over a canonical JSON encoding (sorted keys, shortest floats).

use std::fmt;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::digest::hex;

/// A job's full content hash.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobHash(pub [u8; 32]);

impl JobHash {
    pub fn hex(&self) -> String {
        hex(&self.0)
    }

    /// The 16 hex digits that name the store entry.
    pub fn short(&self) -> String {
        hex(&self.0[..8])
    }

    pub fn parse(s: &str) -> Option<JobHash> {
        if s.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, b) in out.iter_mut().enumerate() {
            *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(JobHash(out))
    }
}

impl fmt::Debug for JobHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JobHash({})", self.short())
    }
}

impl fmt::Display for JobHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

impl Serialize for JobHash {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.hex())
    }
}

impl<'de> serde::Deserialize<'de> for JobHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        JobHash::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not a 64-digit hex hash")))
    }
}

/// sha256 of the canonical text.
pub fn hash_canonical(text: &str) -> JobHash {
    JobHash(Sha256::digest(text.as_bytes()).into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::canonical;
    use std::collections::HashMap;

    #[test]
    fn canonical_sorts_keys_and_prints_floats_once() {
        let mut m = HashMap::new();
        m.insert("b", 5.0f64);
        m.insert("a", 0.005);
        assert_eq!(canonical(&m), r#"{"a":0.005,"b":5.0}"#);
    }

    #[test]
    fn hex_roundtrip() {
        let h = hash_canonical("x");
        assert_eq!(JobHash::parse(&h.hex()), Some(h));
        assert_eq!(h.short().len(), 16);
        assert_eq!(JobHash::parse("zz"), None);
    }
}
