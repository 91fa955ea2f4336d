//! Reads a TensorFlow checkpoint ("tensor bundle": `PREFIX.index` and `PREFIX.data-0000N-of-0000M`)
//! without TensorFlow: the index is a LevelDB-format table (footer, index block, data blocks with
//! prefix-compressed keys) whose values are `BundleEntryProto` messages naming each tensor's
//! dtype, shape, shard, offset, size and masked CRC32C; the data files hold the raw little-endian
//! values. Every block and every tensor is checked against its CRC32C.
//!
//! Formats: `tensorflow/core/util/tensor_bundle/tensor_bundle.proto` and LevelDB's `table_format`.
//! Only uncompressed tables (TensorFlow writes bundles uncompressed) and `float32` tensors are read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A failure to read a checkpoint bundle.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("failed to read `{path}`: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("failed to read the checkpoint index: {0}")]
    Index(String),
    #[error("failed to read tensor `{name}` of the checkpoint: {why}")]
    Tensor { name: String, why: String },
}

/// One tensor of a bundle: its shape (TensorFlow's order) and `float32` values.
#[derive(Debug, Clone, PartialEq)]
pub struct BundleTensor {
    pub shape: Vec<i64>,
    pub values: Vec<f32>,
}

/// The tensors of a checkpoint by name (`wc1`, `wc1/Adam`, ...).
pub type Bundle = BTreeMap<String, BundleTensor>;

/// Reads the bundle at `prefix` (`Models/CK/MicroExpNet_CK` reads `MicroExpNet_CK.index` and its
/// data shards beside it).
pub fn read_prefix(prefix: &Path) -> Result<Bundle, BundleError> {
    let load = |p: PathBuf| std::fs::read(&p).map_err(|source| BundleError::Io { path: p, source });
    let with = |suffix: &str| {
        let mut s = prefix.as_os_str().to_owned();
        s.push(suffix);
        PathBuf::from(s)
    };
    let index = load(with(".index"))?;
    let shards = header(&index)?;
    let data =
        (0..shards).map(|k| load(with(&format!(".data-{k:05}-of-{shards:05}")))).collect::<Result<Vec<_>, _>>()?;
    read(&index, &data.iter().map(Vec::as_slice).collect::<Vec<_>>())
}

/// Reads a bundle from its index and its data shards (in shard order).
pub fn read(index: &[u8], shards: &[&[u8]]) -> Result<Bundle, BundleError> {
    let mut out = Bundle::new();
    for (key, value) in table_entries(index)? {
        if key.is_empty() {
            continue; // the header
        }
        let name = String::from_utf8(key).map_err(|_| BundleError::Index("a tensor name is not UTF-8".into()))?;
        let fail = |why: String| BundleError::Tensor { name: name.clone(), why };
        let e = Entry::decode(&value).map_err(fail)?;
        if !e.slices {
            let t = e.tensor(shards).map_err(fail)?;
            out.insert(name, t);
        }
    }
    Ok(out)
}

/// The number of data shards the bundle's header names.
fn header(index: &[u8]) -> Result<u64, BundleError> {
    let entries = table_entries(index)?;
    let (_, value) = entries
        .iter()
        .find(|(k, _)| k.is_empty())
        .ok_or_else(|| BundleError::Index("it has no header entry".into()))?;
    let mut shards = 1;
    for field in fields(value).map_err(BundleError::Index)? {
        match field {
            (1, Value::Varint(n)) => shards = n,
            (2, Value::Varint(e)) if e != 0 => {
                return Err(BundleError::Index("the bundle is big-endian (only little-endian is read)".into()))
            }
            _ => {}
        }
    }
    if shards == 0 || shards > 100_000 {
        return Err(BundleError::Index(format!("implausible number of shards `{shards}`")));
    }
    Ok(shards)
}

/// A `BundleEntryProto`.
#[derive(Debug, Default)]
struct Entry {
    dtype: u64,
    shape: Vec<i64>,
    shard: u64,
    offset: u64,
    size: u64,
    crc32c: Option<u32>,
    slices: bool,
}

/// TensorFlow's `DT_FLOAT`.
const DT_FLOAT: u64 = 1;

impl Entry {
    fn decode(bytes: &[u8]) -> Result<Entry, String> {
        let mut e = Entry::default();
        for field in fields(bytes)? {
            match field {
                (1, Value::Varint(v)) => e.dtype = v,
                (2, Value::Bytes(shape)) => {
                    for dim in fields(shape)? {
                        if let (2, Value::Bytes(d)) = dim {
                            let size = fields(d)?
                                .into_iter()
                                .find_map(|f| match f {
                                    (1, Value::Varint(s)) => Some(s as i64),
                                    _ => None,
                                })
                                .unwrap_or(0);
                            e.shape.push(size);
                        }
                    }
                }
                (3, Value::Varint(v)) => e.shard = v,
                (4, Value::Varint(v)) => e.offset = v,
                (5, Value::Varint(v)) => e.size = v,
                (6, Value::Fixed32(v)) => e.crc32c = Some(v),
                (7, _) => e.slices = true,
                _ => {}
            }
        }
        Ok(e)
    }

    fn tensor(&self, shards: &[&[u8]]) -> Result<BundleTensor, String> {
        if self.dtype != DT_FLOAT {
            return Err(format!("dtype `{}` is not float32 (1)", self.dtype));
        }
        let shard = shards.get(self.shard as usize).ok_or_else(|| format!("shard `{}` is missing", self.shard))?;
        let end = self.offset.checked_add(self.size).filter(|&e| e <= shard.len() as u64);
        let Some(end) = end else {
            return Err(format!(
                "bytes {}..+{} lie past the data file's {} bytes",
                self.offset,
                self.size,
                shard.len()
            ));
        };
        let bytes = &shard[self.offset as usize..end as usize];
        if let Some(want) = self.crc32c {
            let got = mask(crc32c(bytes));
            if got != want {
                return Err(format!("CRC32C `{got:08x}` does not match the index's `{want:08x}` (damaged data file)"));
            }
        }
        let count: i64 = self.shape.iter().product();
        if count < 0 || count as u64 * 4 != self.size {
            return Err(format!("shape {:?} needs {} bytes, the entry has {}", self.shape, count * 4, self.size));
        }
        let values = bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        Ok(BundleTensor { shape: self.shape.clone(), values })
    }
}

/// A protobuf field value (wire types 0, 1, 2, 5).
#[derive(Debug)]
enum Value<'a> {
    Varint(u64),
    Fixed64,
    Bytes(&'a [u8]),
    Fixed32(u32),
}

/// The fields of a protobuf message, in order.
fn fields(mut b: &[u8]) -> Result<Vec<(u64, Value<'_>)>, String> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let tag = varint(&mut b).ok_or("a truncated field tag")?;
        let v = match tag & 7 {
            0 => Value::Varint(varint(&mut b).ok_or("a truncated varint")?),
            1 => {
                b = b.get(8..).ok_or("a truncated fixed64")?;
                Value::Fixed64
            }
            2 => {
                let n = varint(&mut b).ok_or("a truncated length")? as usize;
                let (v, rest) = (b.get(..n).ok_or("a truncated length-delimited field")?, &b[n..]);
                b = rest;
                Value::Bytes(v)
            }
            5 => {
                let v = b.get(..4).ok_or("a truncated fixed32")?;
                b = &b[4..];
                Value::Fixed32(u32::from_le_bytes([v[0], v[1], v[2], v[3]]))
            }
            w => return Err(format!("unsupported protobuf wire type `{w}`")),
        };
        out.push((tag >> 3, v));
    }
    Ok(out)
}

/// Reads a little-endian base-128 varint, advancing `b`.
fn varint(b: &mut &[u8]) -> Option<u64> {
    let mut v = 0u64;
    for (i, &byte) in b.iter().enumerate().take(10) {
        v |= ((byte & 0x7f) as u64) << (7 * i);
        if byte & 0x80 == 0 {
            *b = &b[i + 1..];
            return Some(v);
        }
    }
    None
}

/// A table entry: its key and value.
type KeyValue = (Vec<u8>, Vec<u8>);

/// LevelDB's table magic number (`kTableMagicNumber`).
const MAGIC: u64 = 0xdb47_7524_8b80_fb57;
/// Footer: two block handles padded to 40 bytes, then the magic.
const FOOTER: usize = 48;

/// Every (key, value) of a LevelDB-format table, in key order.
fn table_entries(file: &[u8]) -> Result<Vec<KeyValue>, BundleError> {
    let bad = |why: &str| BundleError::Index(why.to_string());
    if file.len() < FOOTER {
        return Err(bad("the file is shorter than a table footer"));
    }
    let footer = &file[file.len() - FOOTER..];
    if u64::from_le_bytes(footer[40..].try_into().expect("8 bytes")) != MAGIC {
        return Err(bad("it is not a TensorFlow checkpoint index (no table magic number)"));
    }
    let mut f = footer;
    let handle = |f: &mut &[u8]| -> Result<(u64, u64), BundleError> {
        Ok((
            varint(f).ok_or_else(|| bad("a truncated block handle"))?,
            varint(f).ok_or_else(|| bad("a truncated block handle"))?,
        ))
    };
    let _metaindex = handle(&mut f)?;
    let index = handle(&mut f)?;
    let mut out = Vec::new();
    for (_, value) in block_entries(block(file, index)?)? {
        let mut v = value.as_slice();
        let data = handle(&mut v)?;
        out.extend(block_entries(block(file, data)?)?);
    }
    Ok(out)
}

/// The contents of the block at `(offset, size)`, checked against its trailer.
fn block(file: &[u8], (offset, size): (u64, u64)) -> Result<&[u8], BundleError> {
    let bad = |why: String| BundleError::Index(why);
    let end = offset.checked_add(size).and_then(|e| e.checked_add(5)).filter(|&e| e <= file.len() as u64);
    let Some(end) = end else { return Err(bad(format!("block {offset}..+{size} lies past the end"))) };
    let (contents, trailer) =
        (&file[offset as usize..(offset + size) as usize], &file[(end - 5) as usize..end as usize]);
    if trailer[0] != 0 {
        return Err(bad(format!(
            "block at {offset} is compressed (type `{}`); only uncompressed tables are read",
            trailer[0]
        )));
    }
    let want = u32::from_le_bytes(trailer[1..5].try_into().expect("4 bytes"));
    let got = mask(crc32c_update(crc32c(contents), &trailer[..1]));
    if got != want {
        return Err(bad(format!("block at {offset} fails its CRC32C (damaged index file)")));
    }
    Ok(contents)
}

/// The (key, value) entries of a block (keys share prefixes with the previous key).
fn block_entries(b: &[u8]) -> Result<Vec<KeyValue>, BundleError> {
    let bad = |why: &str| BundleError::Index(format!("a malformed block: {why}"));
    if b.len() < 4 {
        return Err(bad("shorter than its restart count"));
    }
    let restarts = u32::from_le_bytes(b[b.len() - 4..].try_into().expect("4 bytes")) as usize;
    let body_len = b.len().checked_sub(4 + 4 * restarts).ok_or_else(|| bad("too many restart points"))?;
    let mut body = &b[..body_len];
    let mut key: Vec<u8> = Vec::new();
    let mut out = Vec::new();
    while !body.is_empty() {
        let shared = varint(&mut body).ok_or_else(|| bad("a truncated entry"))? as usize;
        let own = varint(&mut body).ok_or_else(|| bad("a truncated entry"))? as usize;
        let len = varint(&mut body).ok_or_else(|| bad("a truncated entry"))? as usize;
        if shared > key.len() || own.checked_add(len).is_none_or(|n| n > body.len()) {
            return Err(bad("an entry runs past the block"));
        }
        key.truncate(shared);
        key.extend_from_slice(&body[..own]);
        out.push((key.clone(), body[own..own + len].to_vec()));
        body = &body[own + len..];
    }
    Ok(out)
}

/// CRC32C (Castagnoli) of `bytes`.
pub fn crc32c(bytes: &[u8]) -> u32 {
    crc32c_update(0, bytes)
}

/// Extends the CRC32C `crc` of some bytes with `bytes`.
fn crc32c_update(crc: u32, bytes: &[u8]) -> u32 {
    static TABLE: std::sync::OnceLock<[u32; 256]> = std::sync::OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut t = [0u32; 256];
        for (i, slot) in t.iter_mut().enumerate() {
            let mut c = i as u32;
            for _ in 0..8 {
                c = if c & 1 != 0 { 0x82f6_3b78 ^ (c >> 1) } else { c >> 1 };
            }
            *slot = c;
        }
        t
    });
    let mut c = !crc;
    for &b in bytes {
        c = table[((c ^ b as u32) & 0xff) as usize] ^ (c >> 8);
    }
    !c
}

/// LevelDB's and TensorFlow's masked CRC (`crc32c::Mask`).
fn mask(crc: u32) -> u32 {
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32c_matches_the_standard_check_values() {
        // RFC 3720 (iSCSI) B.4 and the usual "123456789" check value.
        assert_eq!(crc32c(b"123456789"), 0xe306_9283);
        assert_eq!(crc32c(&[0u8; 32]), 0x8a91_36aa);
        assert_eq!(crc32c(&[0xffu8; 32]), 0x62a8_ab43);
        assert_eq!(crc32c_update(crc32c(b"1234"), b"56789"), crc32c(b"123456789"));
    }

    #[test]
    fn varints_and_fields_decode() {
        let mut b: &[u8] = &[0xac, 0x02, 0x01];
        assert_eq!(varint(&mut b), Some(300));
        assert_eq!(b, &[0x01]);
        assert_eq!(varint(&mut &[0x80u8][..]), None);
        // dtype 1, shape [16], size 64, crc.
        let e = Entry::decode(&[0x08, 0x01, 0x12, 0x04, 0x12, 0x02, 0x08, 0x10, 0x28, 0x40, 0x35, 1, 2, 3, 4]).unwrap();
        assert_eq!((e.dtype, e.shape.as_slice(), e.size, e.crc32c), (1, &[16i64][..], 64, Some(0x0403_0201)));
        assert!(fields(&[0x0b]).is_err(), "wire type 3 (groups) is refused");
        assert!(fields(&[0x12, 0x05, 1]).is_err(), "a truncated field is refused");
    }

    #[test]
    fn garbage_and_truncated_indexes_are_refused() {
        assert!(matches!(read(b"not a table", &[]), Err(BundleError::Index(_))));
        let mut fake = vec![0u8; 60];
        fake[52..].copy_from_slice(&MAGIC.to_le_bytes());
        assert!(read(&fake, &[]).is_err());
    }
}
