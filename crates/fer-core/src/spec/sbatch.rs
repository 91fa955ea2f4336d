//! What may go into an sbatch script: an allow-list of sbatch long options, each with the pattern
//! its value must match, so no value can end the `#SBATCH` header or reach the shell.

/// The shape of an option's value.
#[derive(Debug, Clone, Copy)]
enum Value {
    /// No value: `--exclusive`.
    Flag,
    /// No value, or one of these words.
    FlagOr(&'static [&'static str]),
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// A Slurm name (partition, account, QOS, reservation): letters, digits, `_ . + -`.
    Name,
    /// Names separated by commas.
    Names,
    /// A non-negative integer.
    Count,
    /// An integer, maybe negative (`--nice`).
    Int,
    /// A count or a range: `2`, `1-4`.
    Range,
    /// A size: digits with an optional `K`, `M`, `G` or `T`.
    Memory,
    /// A duration: `30`, `02:00:00`, `1-00:00:00`.
    Time,
    /// A date or offset: `now+1hour`, `2026-01-01T10:00:00`.
    Date,
    /// Generic resources and licenses: `gpu:a100:2`, `gpu:2,tmpfs:1G`.
    Gres,
    /// Node features with operators: `a100&nvlink`, `[rack1*2&rack2*4]`.
    Constraint,
    /// A host list: `node[01-04],gpu7`.
    Hosts,
    /// A mail address.
    Mail,
    /// Words of letters, digits, `_ . , : = + -` (types, policies, comments).
    Words,
}

use Value::*;

/// sbatch long options a pipeline may pass, by name (without `--`).
const ALLOWED: &[(&str, Value)] = &[
    ("account", Name),
    ("begin", Date),
    ("cluster-constraint", Constraint),
    ("clusters", Names),
    ("comment", Words),
    ("constraint", Constraint),
    ("contiguous", Flag),
    ("core-spec", Count),
    ("cores-per-socket", Count),
    ("cpu-freq", Words),
    ("cpus-per-gpu", Count),
    ("deadline", Date),
    ("delay-boot", Count),
    ("distribution", Words),
    ("exclude", Hosts),
    ("exclusive", FlagOr(&["user", "mcs"])),
    ("gpu-bind", Words),
    ("gpu-freq", Words),
    ("gpus", Gres),
    ("gpus-per-node", Gres),
    ("gpus-per-socket", Gres),
    ("gpus-per-task", Gres),
    ("gres", Gres),
    ("gres-flags", OneOf(&["disable-binding", "enforce-binding"])),
    ("hint", OneOf(&["compute_bound", "memory_bound", "multithread", "nomultithread"])),
    ("licenses", Gres),
    ("mail-type", Words),
    ("mail-user", Mail),
    ("mcs-label", Name),
    ("mem-bind", Words),
    ("mem-per-cpu", Memory),
    ("mem-per-gpu", Memory),
    ("mincpus", Count),
    ("network", Words),
    ("nice", Int),
    ("nodelist", Hosts),
    ("nodes", Range),
    ("ntasks", Count),
    ("ntasks-per-core", Count),
    ("ntasks-per-gpu", Count),
    ("ntasks-per-node", Count),
    ("ntasks-per-socket", Count),
    ("overcommit", Flag),
    ("oversubscribe", Flag),
    ("partition", Names),
    ("power", Words),
    ("priority", Count),
    ("profile", Words),
    ("qos", Name),
    ("reboot", Flag),
    ("reservation", Names),
    ("sockets-per-node", Count),
    ("spread-job", Flag),
    ("switches", Words),
    ("threads-per-core", Count),
    ("time-min", Time),
    ("tmp", Memory),
    ("use-min-nodes", Flag),
    ("wckey", Name),
];

/// Options this program writes itself, or that would run or expose something else.
const RESERVED: &[(&str, &str)] = &[
    ("array", "the program builds the arrays"),
    ("job-name", "the program names the tasks"),
    ("output", "task logs go to the store's `slurm/` folder"),
    ("error", "task logs go to the store's `slurm/` folder"),
    ("input", "tasks read no input"),
    ("open-mode", "the program sets it"),
    ("requeue", "tasks are always requeueable"),
    ("no-requeue", "tasks must be requeueable to resume"),
    ("signal", "the program sets the checkpoint signal"),
    ("dependency", "the program chains the stages"),
    ("kill-on-invalid-dep", "the program sets it"),
    ("cpus-per-task", "use `resources.<class>.cpus`"),
    ("mem", "use `resources.<class>.memory`"),
    ("time", "use `resources.<class>.time`"),
    ("wrap", "it would run a command"),
    ("export", "it would change the tasks' environment"),
    ("export-file", "it would change the tasks' environment"),
    ("get-user-env", "it would change the tasks' environment"),
    ("chdir", "tasks run with absolute paths"),
    ("uid", "not allowed"),
    ("gid", "not allowed"),
];

/// Checks one extra sbatch option as written under `slurm.sbatch` (`--key=value` or `--flag`).
pub fn check_option(opt: &str) -> Result<(), String> {
    no_control(opt)?;
    let Some(body) = opt.strip_prefix("--") else {
        return Err(format!(
            "`{}` is not an sbatch option in the form `--key=value` (short options like `-p` are not accepted)",
            opt.escape_debug()
        ));
    };
    let (key, value) = match body.split_once('=') {
        Some((k, v)) => (k, Some(v)),
        None => (body, None),
    };
    if let Some((_, why)) = RESERVED.iter().find(|(k, _)| *k == key) {
        return Err(format!("sbatch option `--{key}` cannot be given here: {why}"));
    }
    let Some((_, kind)) = ALLOWED.iter().find(|(k, _)| *k == key) else {
        return Err(format!(
            "`--{}` is not an sbatch option this program passes on; known: {}",
            key.escape_debug(),
            ALLOWED.iter().map(|(k, _)| format!("--{k}")).collect::<Vec<_>>().join(", ")
        ));
    };
    match (kind, value) {
        (Flag, None) | (FlagOr(_), None) => Ok(()),
        (Flag, Some(v)) => Err(format!("sbatch option `--{key}` takes no value, got `{}`", v.escape_debug())),
        (_, None) => Err(format!("sbatch option `--{key}` needs a value: `--{key}=...`")),
        (kind, Some(v)) => check(*kind, v).map_err(|e| format!("sbatch option `--{key}`: {e}")),
    }
}

/// Checks the value of a setting written into scripts: `partition`, `account`, `memory`, `time`.
pub fn check_setting(setting: &str, value: &str) -> Result<(), String> {
    let kind = match setting {
        "partition" => Names,
        "account" => Name,
        "memory" => Memory,
        "time" => Time,
        other => return Err(format!("`{other}` is not a setting written into sbatch scripts")),
    };
    check(kind, value)
}

/// Refuses newlines and every other control character.
fn no_control(v: &str) -> Result<(), String> {
    match v.chars().find(|c| c.is_control()) {
        Some(c) => Err(format!(
            "`{}` contains the control character {:?}; values written into sbatch scripts are one line",
            v.escape_debug(),
            c
        )),
        None => Ok(()),
    }
}

fn check(kind: Value, v: &str) -> Result<(), String> {
    no_control(v)?;
    let shown = v.escape_debug();
    if v.is_empty() || v.len() > 256 {
        return Err(format!("`{shown}` must be 1 to 256 characters long"));
    }
    let only = |extra: &str| v.chars().all(|c| c.is_ascii_alphanumeric() || extra.contains(c));
    let digits = |s: &str| !s.is_empty() && s.len() <= 12 && s.chars().all(|c| c.is_ascii_digit());
    let (ok, expected) = match kind {
        Flag => (false, "no value"),
        FlagOr(words) | OneOf(words) => (words.contains(&v), "one of the listed words"),
        Name => (only("_.+-"), "a name of letters, digits, `_`, `.`, `+`, `-`"),
        Names => (
            only("_.+-,") && v.split(',').all(|p| !p.is_empty()),
            "names of letters, digits, `_`, `.`, `+`, `-`, separated by commas",
        ),
        Count => (digits(v), "a whole number"),
        Int => (digits(v.strip_prefix('-').unwrap_or(v)), "a whole number"),
        Range => (v.split('-').count() <= 2 && v.split('-').all(digits), "a number or a range like `1-4`"),
        Memory => (
            digits(v.strip_suffix(|c: char| "KMGTkmgt".contains(c)).unwrap_or(v)),
            "a Slurm memory size like `4G` or `500M`",
        ),
        Time => (
            v.split(['-', ':']).count() <= 4 && v.split(['-', ':']).all(digits) && v.matches('-').count() <= 1,
            "a Slurm time like `02:00:00` or `1-00:00:00`",
        ),
        Date => (only(":+-"), "a Slurm date like `now+1hour` or `2026-01-01T10:00:00`"),
        Gres => (only("_.:,-"), "generic resources like `gpu:a100:2`"),
        Constraint => (only("_.:,&|[]*-"), "node features like `a100&nvlink`"),
        Hosts => (only("_.,[]-"), "a host list like `node[01-04]`"),
        Mail => (
            only("_.+-@")
                && v.split_once('@').is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.contains('@')),
            "a mail address",
        ),
        Words => (only("_.,:=+-"), "letters, digits and `_ . , : = + -`"),
    };
    if ok {
        Ok(())
    } else {
        Err(format!("`{shown}` is not {expected}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_allowed_by_name_and_value() {
        for ok in [
            "--qos=normal",
            "--exclusive",
            "--exclusive=user",
            "--constraint=a100&nvlink",
            "--gres=gpu:a100:2",
            "--mail-type=END,FAIL",
            "--mail-user=me@example.org",
            "--nice=-5",
            "--nodes=1-2",
            "--mem-per-cpu=4G",
            "--time-min=1-00:00",
            "--nodelist=node[01-04]",
        ] {
            assert_eq!(check_option(ok), Ok(()), "{ok}");
        }
        for bad in [
            "--qos=normal\ntouch x",
            "--qos=a b",
            "--qos=$(id)",
            "--qos='x'",
            "--wrap=id",
            "--export=ALL",
            "--output=/tmp/x",
            "-p gpu",
            "qos=normal",
            "--exclusive=yes",
            "--contiguous=1",
            "--qos",
            "--nosuch=1",
            "--mem-per-cpu=4GG",
            "--mail-user=nobody",
            "--constraint=a#b",
            "--comment=a\\b",
        ] {
            assert!(check_option(bad).is_err(), "{bad:?}");
        }
        let e = check_option("--qos=x\ny").unwrap_err();
        assert!(!e.contains('\n'), "messages show control characters escaped: {e}");
    }

    #[test]
    fn settings_have_patterns() {
        assert_eq!(check_setting("partition", "gpu,gpu-long"), Ok(()));
        assert!(check_setting("partition", "gpu\ntouch x").is_err());
        assert!(check_setting("partition", "").is_err());
        assert!(check_setting("account", "a,b").is_err());
        assert_eq!(check_setting("memory", "500M"), Ok(()));
        assert!(check_setting("memory", "4G\n").is_err());
        assert_eq!(check_setting("time", "1-00:00:00"), Ok(()));
        assert!(check_setting("time", "1-2-3").is_err());
    }
}
