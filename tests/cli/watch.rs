//! `status --watch`: read in a real tmux pane while a real `run` trains, on a pipe, and left by Ctrl-C.

use super::*;

/// More epochs than tiny's 4, so a watcher sees training in progress.
const SETS: [&str; 4] = ["--set", "models.deep-emotion.epochs=10", "--set", "models.microexpnet.epochs=10"];

/// A private tmux server (its own socket), killed when dropped.
struct Tmux {
    socket: String,
}

impl Tmux {
    /// Starts `command` (a shell line) in a detached 120x40 session named `w`.
    fn start(name: &str, command: &str) -> Tmux {
        let t = Tmux { socket: format!("fer-watch-{}-{name}", std::process::id()) };
        let out = t.cmd(&["new-session", "-d", "-x", "120", "-y", "40", "-s", "w", command]);
        assert!(out.status.success(), "tmux did not start: {}", text(&out));
        t
    }

    fn cmd(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .env_remove("FER_STORE")
            .env_remove("RUST_LOG")
            .env_remove("TMUX")
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("tmux runs (scripts/setup --test installs it)")
    }

    /// What the pane shows now.
    fn screen(&self) -> String {
        String::from_utf8_lossy(&self.cmd(&["capture-pane", "-p", "-t", "w"]).stdout).into_owned()
    }

    /// Whether the pane's cursor is visible.
    fn cursor_visible(&self) -> bool {
        String::from_utf8_lossy(&self.cmd(&["display-message", "-p", "-t", "w", "#{cursor_flag}"]).stdout).trim() == "1"
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd(&["kill-server"]);
    }
}

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The shell line running `status --watch` on the tiny pipeline with [`SETS`], then saying how it
/// exited and staying open so the pane can still be read.
fn watch_line(store: &Path, interval: &str) -> String {
    let mut words = vec![
        quote(&exe().to_string_lossy()),
        "--store".into(),
        quote(&store_arg(store)),
        "status".into(),
        "--watch".into(),
        "--interval".into(),
        interval.into(),
        quote(&tiny().to_string_lossy()),
    ];
    words.extend(SETS.iter().map(|s| s.to_string()));
    format!("{}; echo \"watch-exit=$?\"; sleep 600", words.join(" "))
}

fn start_run(store: &Path) -> std::process::Child {
    bin()
        .args(["--store", &store_arg(store), "run", tiny().to_str().unwrap(), "-j", "2"])
        .args(SETS)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// A line of the screen showing a running train job at some epoch of 10.
fn shows_training_epoch(screen: &str) -> bool {
    screen.contains("running (")
        && screen
            .lines()
            .any(|l| l.trim_start().starts_with("train ") && (0..10).any(|e| l.contains(&format!("epoch {e}/10"))))
}

#[test]
fn tmux_screen_shows_running_epochs_then_all_done() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let mut run = start_run(&store);
    let tmux = Tmux::start("live", &watch_line(&store, "0.5"));
    let mut seen = String::new();
    let training = wait_for(
        || {
            seen = tmux.screen();
            shows_training_epoch(&seen)
        },
        120,
    );
    assert!(training, "the screen never showed a training epoch:\n{seen}");
    assert!(seen.contains("STAGE") && seen.contains("DONE") && seen.contains("PENDING"), "{seen}");
    for stage in ["prepare", "train", "evaluate", "saliency", "total"] {
        assert!(seen.lines().any(|l| l.starts_with(stage)), "no `{stage}` row:\n{seen}");
    }
    assert!(!tmux.cursor_visible(), "the cursor is hidden while drawing");
    let status = run.wait().unwrap();
    assert!(status.success(), "run failed");
    let done = wait_for(
        || {
            seen = tmux.screen();
            seen.contains("watch-exit=")
        },
        30,
    );
    assert!(done, "watch did not end after the run:\n{seen}");
    assert!(seen.contains("pipeline `tiny` complete: all 8 job(s) done"), "{seen}");
    assert!(seen.contains("watch-exit=0"), "{seen}");
    assert!(seen.contains("running: none"), "{seen}");
    // Redrawn in place: one table on the screen, not a scroll of them.
    assert_eq!(seen.matches("STAGE").count(), 1, "{seen}");
    assert!(seen.lines().any(|l| l.starts_with("total") && l.split_whitespace().nth(1) == Some("8")), "{seen}");
    assert!(tmux.cursor_visible(), "the cursor is given back");
}

#[test]
fn ctrl_c_leaves_cleanly_and_gives_the_cursor_back() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    // Nothing runs: the watch would wait for ever.
    let tmux = Tmux::start("ctrlc", &watch_line(&store, "0.3"));
    let mut seen = String::new();
    assert!(
        wait_for(
            || {
                seen = tmux.screen();
                seen.contains("running: none")
            },
            30
        ),
        "{seen}"
    );
    assert!(seen.lines().any(|l| l.starts_with("train") && l.split_whitespace().nth(3) == Some("2")), "{seen}");
    assert!(!tmux.cursor_visible());
    assert!(tmux.cmd(&["send-keys", "-t", "w", "C-c"]).status.success());
    assert!(
        wait_for(
            || {
                seen = tmux.screen();
                seen.contains("watch-exit=")
            },
            10
        ),
        "Ctrl-C did not end the watch:\n{seen}"
    );
    assert!(seen.contains("watch-exit=0"), "{seen}");
    assert!(!seen.contains("complete"), "{seen}");
    assert!(tmux.cursor_visible(), "the cursor is given back");
}

#[test]
fn on_a_pipe_it_prints_plain_lines_on_change_and_ends_when_done() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    let mut run = start_run(&store);
    let t0 = Instant::now();
    let out = bin()
        .args(["--store", &store_arg(&store), "status", "--watch", "--interval", "0.2", tiny().to_str().unwrap()])
        .args(SETS)
        .output()
        .unwrap();
    let looks = t0.elapsed().as_secs_f64() / 0.2;
    assert!(run.wait().unwrap().success());
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{}", text(&out));
    assert!(!stdout.contains('\x1b'), "no terminal codes on a pipe: {stdout:?}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.last(), Some(&"pipeline `tiny` complete: all 8 job(s) done"), "{stdout}");
    assert!(lines.iter().any(|l| l.contains("| train deep-emotion on tiny seed=1 epoch ")), "{stdout}");
    assert!(lines[lines.len() - 2].contains("done 8/8 running 0 pending 0 failed 0"), "{stdout}");
    // Only changes are printed (and a line every 30 looks): far fewer lines than looks.
    assert!((lines.len() as f64) < looks / 2.0, "{} lines in {looks:.0} looks:\n{stdout}", lines.len());

    // Everything done: one look, one line and the closing line, exit 0.
    let again = bin()
        .args(["--store", &store_arg(&store), "status", "--watch", tiny().to_str().unwrap()])
        .args(SETS)
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", text(&again));
    let stdout = String::from_utf8_lossy(&again.stdout).into_owned();
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(stdout.ends_with("pipeline `tiny` complete: all 8 job(s) done\n"), "{stdout}");
}

#[test]
fn watch_flags_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let s = store_arg(dir.path());
    let t = tiny();
    let o = run(&["--store", &s, "status", "--watch", "--interval", "0", t.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("failed to use `--interval 0`"), "{}", text(&o));
    let o = run(&["--store", &s, "status", "--watch", "--json", t.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = run(&["--store", &s, "status", "--interval", "3", t.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn slurm_states_of_submitted_work_show_on_the_pipe() {
    let slurm = LocalSlurm::start();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("store");
    // Stands in for the program on the node: holds its task for a while, then exits.
    let exe = dir.path().join("hold");
    write_script(&exe, "#!/bin/bash\nsleep 20\n");
    let t = tiny();
    let o = slurm
        .bin()
        .args(["--store", &store_arg(&store), "submit", t.to_str().unwrap(), "--exe", exe.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}\n{}", text(&o), slurm.ctld_log());
    let mut child = slurm
        .bin()
        .args(["--store", &store_arg(&store), "status", "--watch", "--interval", "0.5", t.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufRead::read_line(&mut std::io::BufReader::new(child.stdout.take().unwrap()), &mut first).unwrap();
    // SAFETY: kill(2) sends SIGINT to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "Ctrl-C leaves with 0");
    // The later arrays wait for the first (afterok): squeue says pending, with its reason.
    assert!(first.contains("| slurm: "), "{first}");
    assert!(first.contains(" pending"), "{first}");
    assert!(!first.contains("complete"), "{first}");
    let submitted = String::from_utf8_lossy(&o.stdout).into_owned();
    let ids: Vec<&str> =
        submitted.lines().filter_map(|l| l.split("Slurm job ").nth(1).and_then(|r| r.split(',').next())).collect();
    assert!(!ids.is_empty(), "{submitted}");
    let _ = slurm.cmd("scancel").args(&ids).output();
}
