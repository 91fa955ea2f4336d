//! Reads `pipeline.yaml`, applies the profile and `--set` overlays, and compiles it.

use std::path::Path;

use serde_yaml::Value;

use super::compile::{compile, Ctx};
use super::error::{Diagnostic, Origin, SpecError};
use super::overlay::{merge, parse_set, Origins, OverlaySource};
use super::pipeline::Pipeline;
use super::raw::RawPipeline;
use super::source_map::{Pos, SourceMap};

/// Command-line overrides of a pipeline.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--profile NAME`; `None` applies the file's `default_profile`.
    pub profile: Option<String>,
    /// `--set key.path=value`, in order.
    pub sets: Vec<String>,
    /// `--skip-bad`: every real data set skips bad items (as `skip_bad: true` would).
    pub skip_bad: bool,
}

/// The largest pipeline file read (1 MiB; real pipelines are a few KiB).
pub const MAX_FILE_BYTES: u64 = 1 << 20;

/// Loads and compiles the pipeline at `path`.
pub fn load(path: &Path, overrides: &Overrides) -> Result<Pipeline, SpecError> {
    let file = path.display().to_string();
    let text = read_small_file(path, MAX_FILE_BYTES).map_err(|e| match e {
        SmallFileError::Io(source) => SpecError::Read { path: file.clone(), source },
        SmallFileError::Unusable(why) => SpecError::Unusable { path: file.clone(), why },
    })?;
    let text = String::from_utf8(text).map_err(|e| SpecError::Unusable {
        path: file.clone(),
        why: format!("it is not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
    })?;
    load_str(&file, &text, overrides)
}

/// Why a file could not be read by [`read_small_file`].
#[derive(Debug)]
pub enum SmallFileError {
    Io(std::io::Error),
    /// Not a regular file, or too large.
    Unusable(String),
}

/// What kind of file `meta` describes, for messages.
pub fn file_kind(meta: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = meta.file_type();
    if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    }
}

/// Opens `path` without blocking (a FIFO would wait for a writer) and checks that it is a
/// regular file; the check is on the opened file, so a swap after it cannot slip through.
pub fn open_regular(path: &Path) -> Result<(std::fs::File, std::fs::Metadata), SmallFileError> {
    use std::os::unix::fs::OpenOptionsExt;
    let f =
        std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(path).map_err(SmallFileError::Io)?;
    let meta = f.metadata().map_err(SmallFileError::Io)?;
    if !meta.is_file() {
        return Err(SmallFileError::Unusable(format!("it must be a regular file, not {}", file_kind(&meta))));
    }
    Ok((f, meta))
}

/// Reads a regular file of at most `max` bytes.
pub fn read_small_file(path: &Path, max: u64) -> Result<Vec<u8>, SmallFileError> {
    use std::io::Read;
    let (f, meta) = open_regular(path)?;
    let too_big = |n: u64| {
        SmallFileError::Unusable(format!(
            "it is larger than {} MiB ({n} bytes; input limit)",
            max as f64 / (1u64 << 20) as f64
        ))
    };
    if meta.len() > max {
        return Err(too_big(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    f.take(max + 1).read_to_end(&mut bytes).map_err(SmallFileError::Io)?;
    if bytes.len() as u64 > max {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

/// Loads and compiles a pipeline from text; `file` names it in messages.
pub fn load_str(file: &str, text: &str, overrides: &Overrides) -> Result<Pipeline, SpecError> {
    let invalid = |diagnostics: Vec<Diagnostic>| SpecError::Invalid { file: file.to_string(), diagnostics };
    let at = |pos: Option<Pos>, key: &str, message: String| Diagnostic {
        origin: Origin::File { file: file.to_string(), pos },
        key: key.to_string(),
        message,
    };

    let map = SourceMap::parse(text).map_err(|e| invalid(vec![at(Some(e.pos), "", e.message)]))?;
    let mut doc: Value = serde_yaml::from_str(text).map_err(|e| {
        let pos = e.location().map(|l| Pos { line: l.line(), col: l.column() });
        invalid(vec![at(pos, "", format!("invalid YAML: {e}"))])
    })?;
    let Value::Mapping(top) = &mut doc else {
        return Err(invalid(vec![at(
            Some(Pos { line: 1, col: 1 }),
            "",
            "a pipeline is a YAML mapping (`key: value` lines)".into(),
        )]));
    };

    // Profiles are overlays; take them out of the document.
    let mut profiles: Vec<(String, Value)> = Vec::new();
    let mut diags = Vec::new();
    match top.remove("profiles") {
        None => {}
        Some(Value::Mapping(m)) => {
            for (k, v) in m {
                let name = super::overlay::key_text(&k);
                if !v.is_mapping() && !v.is_null() {
                    diags.push(at(
                        map.get(&format!("profiles.{name}")),
                        &format!("profiles.{name}"),
                        "a profile is a mapping of values to overlay".into(),
                    ));
                }
                profiles.push((name, if v.is_null() { Value::Mapping(Default::default()) } else { v }));
            }
        }
        Some(_) => diags.push(at(
            map.get("profiles"),
            "profiles",
            "`profiles` is a mapping from profile names to overlays".into(),
        )),
    }
    // Every profile is compiled on a copy of the document: bound that work like the document.
    let copies = profiles.len() as u64 + 1;
    if copies.saturating_mul(map.nodes()) > super::source_map::MAX_NODES {
        diags.push(at(
            map.get("profiles"),
            "profiles",
            format!(
                "{} profiles of a document of {} values: each profile is checked on its own copy, \
                 and together they exceed {} values (input limit)",
                profiles.len(),
                map.nodes(),
                super::source_map::MAX_NODES
            ),
        ));
    }
    if !diags.is_empty() {
        return Err(invalid(diags));
    }

    // Which profile applies.
    let default_profile = top.get("default_profile").and_then(Value::as_str).map(str::to_string);
    let chosen = overrides.profile.clone().or(default_profile.clone());
    if let Some(p) = &chosen {
        if p != "none" && !profiles.iter().any(|(n, _)| n == p) {
            let known = profiles.iter().map(|(n, _)| format!("`{n}`")).collect::<Vec<_>>().join(", ");
            let msg = format!(
                "unknown profile `{p}`; profiles in this file: {}",
                if known.is_empty() { "none".into() } else { known }
            );
            return Err(match &overrides.profile {
                Some(_) => invalid(vec![Diagnostic {
                    origin: Origin::Set(format!("--profile {p}")),
                    key: String::new(),
                    message: msg,
                }]),
                None => invalid(vec![at(map.get("default_profile"), "default_profile", msg)]),
            });
        }
    }
    let chosen = chosen.filter(|p| p != "none");

    // Every profile is checked, so a typo in `paper` shows up on a `quick` run too.
    for (name, overlay) in &profiles {
        if Some(name) == chosen.as_ref() {
            continue;
        }
        let mut d = doc.clone();
        let mut origins = Origins::default();
        merge(&mut d, overlay.clone(), "", &OverlaySource::Profile(name.clone()), &mut origins);
        if let Err(mut ds) = compile_value(file, &map, &origins, d, Some(name.clone()), overrides.skip_bad) {
            diags.append(&mut ds);
        }
    }

    let mut origins = Origins::default();
    if let Some(name) = &chosen {
        let overlay = profiles.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or(Value::Null);
        merge(&mut doc, overlay, "", &OverlaySource::Profile(name.clone()), &mut origins);
    }
    for arg in &overrides.sets {
        match parse_set(arg) {
            Ok(overlay) => merge(&mut doc, overlay, "", &OverlaySource::Set(arg.clone()), &mut origins),
            Err(message) => diags.push(Diagnostic { origin: Origin::Set(arg.clone()), key: String::new(), message }),
        }
    }
    if !diags.is_empty() {
        return Err(invalid(diags));
    }
    compile_value(file, &map, &origins, doc, chosen, overrides.skip_bad).map_err(invalid)
}

fn compile_value(
    file: &str,
    map: &SourceMap,
    origins: &Origins,
    doc: Value,
    profile: Option<String>,
    skip_bad: bool,
) -> Result<Pipeline, Vec<Diagnostic>> {
    let mut ctx = Ctx::new(file, map, origins);
    ctx.skip_bad = skip_bad;
    let raw: RawPipeline = match serde_path_to_error::deserialize(doc) {
        Ok(r) => r,
        Err(e) => {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            let message = e.inner().to_string();
            // An unknown key is reported at the key itself.
            let key = match unknown_field(&message) {
                Some(k) if !path.ends_with(&k) => super::source_map::join(&path, &k),
                Some(_) => path,
                None => path,
            };
            ctx.error(&key, message);
            return Err(ctx.diagnostics);
        }
    };
    compile(&raw, profile, &mut ctx).ok_or(ctx.diagnostics)
}

/// The key named by serde's "unknown field `x`" message.
fn unknown_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("unknown field `")?;
    Some(rest[..rest.find('`')?].to_string())
}
