"""No event lost, Java and Rust: instrumented programs with threads (and a child process writing
to the same file) end every way their runtime can see (return, uncaught exception or panic,
System.exit / std::process::exit, SIGTERM: Java's shutdown hook, Rust's once-a-second writer),
and every event they made is in the file exactly once, on a whole JSON line."""

from __future__ import annotations

import signal
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from helpers import require, run_program
from telemetry import check_pairs, read_events
from test_completeness import _enters, _open_frames

# Four threads write 3,000 calls each at once (several full buffers each), a child process
# of the same program writes 2,000 more to the same file meanwhile, and a thread that never
# ends has made 500 calls when main finishes.
RUST = """\
use std::process::Command;
use std::sync::mpsc;
use std::thread;

fn work(i: u64) -> u64 {
    i
}

fn spin(n: u64) {
    for i in 0..n {
        std::hint::black_box(work(i));
    }
}

fn finish(how: &str) {
    match how {
        "panic" => panic!("boom"),
        "exit" => std::process::exit(3),
        "sigterm" => {
            // No handler in safe Rust: what was recorded more than a second ago is written.
            thread::sleep(std::time::Duration::from_millis(1500));
            let pid = std::process::id().to_string();
            Command::new("kill").args(["-TERM", &pid]).status().unwrap();
            thread::sleep(std::time::Duration::from_secs(30)); // ended by the signal
        }
        _ => {}
    }
}

fn main() {
    let how = std::env::args().nth(1).unwrap();
    if how == "child" {
        return spin(2000);
    }
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe).arg("child").spawn().unwrap();
    let workers: Vec<_> = (0..4).map(|_| thread::spawn(|| spin(3000))).collect();
    let (done, started) = mpsc::channel();
    thread::spawn(move || {
        spin(500);
        done.send(()).unwrap();
        loop {
            thread::park();
        }
    });
    spin(100);
    for w in workers {
        w.join().unwrap();
    }
    started.recv().unwrap();
    assert!(child.wait().unwrap().success());
    finish(&how);
}
"""


@pytest.mark.parametrize(
    ("how", "panic", "code", "still_open"),
    [
        ("return", "unwind", 0, []),
        ("panic", "unwind", 101, []),
        # No unwinding: the panic hook writes every thread's buffer before the abort.
        ("panic", "abort", -signal.SIGABRT, ["main", "finish"]),
        ("exit", "unwind", 3, ["main", "finish"]),
        ("sigterm", "unwind", -signal.SIGTERM, ["main", "finish"]),
    ],
)
def test_rust_threads_child_and_every_exit(
    how: str,
    panic: str,
    code: int,
    still_open: list[str],
    instrument_copy: Callable[..., Path],
    tmp_path: Path,
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "main.rs").write_text(RUST, "utf-8")
    out = instrument_copy(src)
    build = subprocess.run(
        [require("rustc"), "--edition", "2021", "-C", f"panic={panic}", "-o", "prog", "main.rs"],
        cwd=out,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert build.returncode == 0, build.stderr
    events_file = tmp_path / "events.jsonl"
    run = run_program([str(out / "prog"), how], out, events=events_file, timeout=120)
    assert run.returncode == code, run.stderr
    events = read_events(events_file)  # every line whole JSON, none interleaved
    pids = Counter(e["pid"] for e in events)
    assert len(pids) == 2, pids
    child = min(pids, key=lambda p: pids[p])
    assert _enters(events, child) == {"main": 1, "spin": 1, "work": 2000}
    check_pairs([e for e in events if e["pid"] == child])
    parent = [e for e in events if e["pid"] != child]
    calls = {"main": 1, "spin": 6, "work": 4 * 3000 + 500 + 100, "finish": 1}
    calls["main.<anonymous>"] = 1  # the thread that never ends
    assert _enters(parent) == calls
    # The thread still running when the process ends is the only other open frame.
    assert _open_frames(parent) == Counter([*still_open, "main.<anonymous>"])
    errors = [(e["fn"], e["error"]) for e in parent if e["ev"] == "error"]
    boom = "panic: boom"
    assert errors == ([("finish", boom), ("main", boom)] if code == 101 else [])


JAVA = """\
import java.util.concurrent.CountDownLatch;

public class Prog {
    static int work(int i) {
        return i;
    }

    static void spin(int n) {
        for (int i = 0; i < n; i++) work(i);
    }

    static void finish(String how) throws Exception {
        if (how.equals("throw")) throw new IllegalStateException("boom");
        if (how.equals("exit")) System.exit(3);
        if (how.equals("sigterm")) {
            long pid = ProcessHandle.current().pid();
            new ProcessBuilder("kill", "-TERM", Long.toString(pid)).start().waitFor();
            Thread.sleep(30000); // ended by the signal
        }
    }

    public static void main(String[] args) throws Exception {
        if (args[0].equals("child")) {
            spin(2000);
            return;
        }
        String java = ProcessHandle.current().info().command().get();
        Process child = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                "Prog", "child").inheritIO().start();
        Thread[] workers = new Thread[4];
        for (int t = 0; t < workers.length; t++) {
            workers[t] = new Thread(() -> spin(3000));
            workers[t].start();
        }
        CountDownLatch started = new CountDownLatch(1);
        Thread forever = new Thread(() -> {
            spin(500);
            started.countDown();
            while (true) {
                try {
                    Thread.sleep(60000);
                } catch (InterruptedException e) {
                    return;
                }
            }
        });
        forever.setDaemon(true);
        forever.start();
        spin(100);
        for (Thread w : workers) w.join();
        started.await();
        if (child.waitFor() != 0) throw new IllegalStateException("child failed");
        finish(args[0]);
    }
}
"""


@pytest.mark.parametrize(
    ("how", "code", "still_open"),
    [
        ("return", 0, []),
        ("throw", 1, []),
        ("exit", 3, ["Prog.main", "Prog.finish"]),
        ("sigterm", 128 + signal.SIGTERM, ["Prog.main", "Prog.finish"]),
    ],
)
def test_java_threads_child_and_every_exit(
    how: str, code: int, still_open: list[str], instrument_copy: Callable[..., Path], tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "Prog.java").write_text(JAVA, "utf-8")
    out = instrument_copy(src)
    javac = [require("javac"), "-encoding", "UTF-8", "-d", "classes", "Prog.java"]
    build = subprocess.run(
        [*javac, "TelemetryInject.java"], cwd=out, capture_output=True, text=True, timeout=300
    )
    assert build.returncode == 0, build.stderr
    events_file = tmp_path / "events.jsonl"
    cmd = [require("java"), "-cp", "classes", "Prog", how]
    run = run_program(cmd, out, events=events_file, timeout=120)
    assert run.returncode == code, run.stderr
    events = read_events(events_file)  # every line whole JSON, none interleaved
    pids = Counter(e["pid"] for e in events)
    assert len(pids) == 2, pids
    child = min(pids, key=lambda p: pids[p])
    assert _enters(events, child) == {"Prog.main": 1, "Prog.spin": 1, "Prog.work": 2000}
    check_pairs([e for e in events if e["pid"] == child])
    parent = [e for e in events if e["pid"] != child]
    calls = {"Prog.main": 1, "Prog.spin": 6, "Prog.work": 4 * 3000 + 500 + 100, "Prog.finish": 1}
    calls["Prog.main.<anonymous>"] = 1  # the daemon thread's block lambda
    assert _enters(parent) == calls
    # The daemon thread still sleeping when the JVM ends is the only other open frame.
    assert _open_frames(parent) == Counter([*still_open, "Prog.main.<anonymous>"])
    errors = [(e["fn"], e["error"]) for e in parent if e["ev"] == "error"]
    boom = "java.lang.IllegalStateException: boom"
    assert errors == ([("Prog.finish", boom), ("Prog.main", boom)] if how == "throw" else [])
