"""No event lost in C and C++: instrumented programs with threads (ended, and still running when
the process ends) and forked children end every way their runtime can see (return, exit(),
abort(), an uncaught exception, SIGTERM, SIGINT), and every event they made is in the file
exactly once, on a whole JSON line. Compiled with the real gcc/g++ and run."""

from __future__ import annotations

import json
import signal
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from helpers import require, run_program
from telemetry import check_pairs, read_events

# Four threads that end (joined) and three that park for good once their calls are made, so
# the exit and signal paths must write buffers of threads that are still alive. Each thread
# writes more than one buffer's worth (flushes while the others write), and a forked child
# makes calls of its own.
C = r"""#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int parked_count = 0;

static int work(int i)
{
    return i;
}

static void spin(int n)
{
    int i;
    for (i = 0; i < n; i++)
        work(i);
}

static void *joined(void *arg)
{
    spin(*(int *)arg);
    return NULL;
}

static void *parked(void *arg)
{
    spin(*(int *)arg);
    pthread_mutex_lock(&mu);
    parked_count++;
    pthread_cond_broadcast(&cv);
    for (;;)
        pthread_cond_wait(&cv, &mu); /* never returns: its enter stays open */
    return NULL;
}

static void child_main(void)
{
    spin(50);
}

static void finish(const char *how)
{
    if (strcmp(how, "exit") == 0)
        exit(3);
    if (strcmp(how, "abort") == 0)
        abort();
    if (strcmp(how, "sigterm") == 0 || strcmp(how, "sigint") == 0) {
        kill(getpid(), how[3] == 't' ? SIGTERM : SIGINT);
        for (;;)
            pause(); /* ended by the signal */
    }
}

int main(int argc, char **argv)
{
    pthread_t threads[4];
    int calls = 3000, parked_calls = 2000, i;
    pid_t child;
    (void)argc;
    for (i = 0; i < 4; i++)
        pthread_create(&threads[i], NULL, joined, &calls);
    for (i = 0; i < 4; i++)
        pthread_join(threads[i], NULL);
    child = fork();
    if (child == 0) {
        child_main();
        exit(0);
    }
    waitpid(child, NULL, 0);
    for (i = 0; i < 3; i++)
        pthread_create(&threads[i], NULL, parked, &parked_calls);
    pthread_mutex_lock(&mu);
    while (parked_count < 3)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    spin(100);
    finish(argv[1]);
    return 0;
}
"""

CPP = r"""#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

// Never destroyed: parked threads still wait on them while the process exits.
static std::mutex& mu = *new std::mutex;
static std::condition_variable& cv = *new std::condition_variable;
static int parked_count = 0;

static int work(int i) {
    return i;
}

static void spin(int n) {
    for (int i = 0; i < n; i++)
        work(i);
}

static void joined(int n) {
    spin(n);
}

static void parked(int n) {
    spin(n);
    std::unique_lock<std::mutex> hold(mu);
    parked_count++;
    cv.notify_all();
    for (;;)
        cv.wait(hold);  // never returns: its enter stays open
}

static void child_main() {
    spin(50);
}

static void finish(const std::string& how) {
    if (how == "exit")
        std::exit(3);
    if (how == "abort")
        std::abort();
    if (how == "throw")
        throw std::runtime_error("boom");  // uncaught: std::terminate
    if (how == "sigterm" || how == "sigint") {
        std::raise(how == "sigterm" ? SIGTERM : SIGINT);
        for (;;)
            pause();  // ended by the signal
    }
}

int main(int, char** argv) {
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; i++)
        threads.emplace_back(joined, 3000);
    for (auto& t : threads)
        t.join();
    pid_t child = fork();
    if (child == 0) {
        child_main();
        std::exit(0);
    }
    waitpid(child, nullptr, 0);
    for (int i = 0; i < 3; i++)
        std::thread(parked, 2000).detach();
    {
        std::unique_lock<std::mutex> hold(mu);
        while (parked_count < 3)
            cv.wait(hold);
    }
    spin(100);
    finish(argv[1]);
    return 0;
}
"""

# Calls the parent makes: 4 x 3000 + 3 x 2000 + 100 of work.
PARENT = {"work": 18100, "spin": 8, "joined": 4, "parked": 3, "main": 1, "finish": 1}
CHILD = {"child_main": 1, "spin": 1, "work": 50}
# How each ending leaves the calls on the stack: parked threads never return; exit(), abort(),
# signals and std::terminate run no exit of the frames below them.
ENDINGS = {
    "return": (0, ["parked"] * 3),
    "exit": (3, ["parked"] * 3 + ["main", "finish"]),
    "abort": (-signal.SIGABRT, ["parked"] * 3 + ["main", "finish"]),
    "sigterm": (-signal.SIGTERM, ["parked"] * 3 + ["main", "finish"]),
    "sigint": (-signal.SIGINT, ["parked"] * 3 + ["main", "finish"]),
}


def _build(compiler: str, flags: list[str], source: str, out: Path) -> Path:
    proc = subprocess.run(
        [require(compiler), *flags, source, "-o", "prog", "-pthread"],
        cwd=out,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    return out / "prog"


def _enters(events: list[dict[str, Any]], pid: int) -> Counter[str]:
    return Counter(e["fn"] for e in events if e["ev"] == "enter" and e["pid"] == pid)


def _check(events: list[dict[str, Any]], still_open: list[str]) -> None:
    pids = Counter(e["pid"] for e in events)
    assert len(pids) == 2, pids
    child, parent = sorted(pids, key=lambda p: pids[p])
    # Flushed before fork: the child writes its own calls once and nothing of its parent's.
    assert _enters(events, child) == CHILD
    assert check_pairs([e for e in events if e["pid"] == child]) == Counter(CHILD)
    mine = [e for e in events if e["pid"] == parent]
    assert _enters(mine, parent) == PARENT
    opened = Counter(e["fn"] for e in mine if e["ev"] == "enter")
    opened.subtract(e["fn"] for e in mine if e["ev"] == "exit")
    assert +opened == Counter(still_open)
    closed = [e for e in mine if e["fn"] not in still_open]
    assert check_pairs(closed)["work"] == PARENT["work"]


def _run(exe: Path, how: str, tmp_path: Path) -> tuple[int, list[dict[str, Any]]]:
    events_file = tmp_path / f"{how}.jsonl"
    run = run_program([str(exe), how], exe.parent, events=events_file, timeout=120)
    return run.returncode, read_events(events_file)  # whole JSON lines only


@pytest.fixture(scope="module")
def c_program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from helpers import run_cli

    root = tmp_path_factory.mktemp("c") / "prog"
    root.mkdir()
    (root / "prog.c").write_text(C, "utf-8")
    run_cli(root, "--in-place", "--no-cache")
    return _build("gcc", ["-std=c11", "-Wall", "-Wextra", "-Werror"], "prog.c", root)


@pytest.fixture(scope="module")
def cpp_program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from helpers import run_cli

    root = tmp_path_factory.mktemp("cpp") / "prog"
    root.mkdir()
    (root / "prog.cpp").write_text(CPP, "utf-8")
    run_cli(root, "--in-place", "--no-cache")
    return _build("g++", ["-std=c++17", "-Wall", "-Wextra", "-Werror"], "prog.cpp", root)


@pytest.mark.parametrize("how", list(ENDINGS))
def test_c_threads_fork_and_every_ending(how: str, c_program: Path, tmp_path: Path) -> None:
    code, still_open = ENDINGS[how]
    returncode, events = _run(c_program, how, tmp_path)
    assert returncode == code
    _check(events, still_open)
    assert not [e for e in events if e["ev"] == "error"]  # C has no exceptions


@pytest.mark.parametrize("how", [*ENDINGS, "throw"])
def test_cpp_threads_fork_and_every_ending(how: str, cpp_program: Path, tmp_path: Path) -> None:
    # An uncaught exception ends in std::terminate before any unwinding (no handler found).
    code, still_open = ENDINGS.get(how, ENDINGS["abort"])
    returncode, events = _run(cpp_program, how, tmp_path)
    assert returncode == code
    _check(events, still_open)
    assert not [e for e in events if e["ev"] == "error"]


def test_handlers_and_ignored_signals_of_the_program_are_left_alone(
    instrument_copy: Callable[..., Path], tmp_path: Path
) -> None:
    """The runtime catches a signal only where the program left the default action when the
    first event was made."""
    src = tmp_path / "src" / "own"
    src.mkdir(parents=True)
    (src / "own.c").write_text(OWN_HANDLER, "utf-8")
    out = instrument_copy(src)
    exe = _build("gcc", ["-std=c11", "-Wall", "-Wextra", "-Werror"], "own.c", out)
    code, events = _run(exe, "own", tmp_path)
    # SIGINT stayed ignored; the program's SIGTERM handler ran and left by exit(7), which
    # still writes the events.
    assert code == 7
    assert Counter(e["fn"] for e in events if e["ev"] == "enter") == {"main": 1, "on_term": 1}


OWN_HANDLER = r"""#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <stdlib.h>

static void on_term(int sig)
{
    (void)sig;
    exit(7);
}

/* telemetry-inject: ignore */
__attribute__((constructor)) static void setup(void)
{
    signal(SIGTERM, on_term);
    signal(SIGINT, SIG_IGN);
}

int main(void)
{
    raise(SIGINT);
    raise(SIGTERM);
    return 0;
}
"""


# Four threads call work() without pause until the process ends by exit() or SIGTERM: what
# they wrote is whole lines, each call once and none missing before the last of each thread.
BUSY_C = r"""#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int work(int t, int i)
{
    return t + i;
}

static void *busy(void *arg)
{
    int t = *(int *)arg, i = 0;
    for (;;)
        work(t, i++);
    return NULL;
}

int main(int argc, char **argv)
{
    static int ids[4] = {0, 1, 2, 3};
    pthread_t threads[4];
    struct timespec pause;
    int i;
    (void)argc;
    for (i = 0; i < 4; i++)
        pthread_create(&threads[i], NULL, busy, &ids[i]);
    pause.tv_sec = 0;
    pause.tv_nsec = 20000000;
    nanosleep(&pause, NULL);
    if (strcmp(argv[1], "exit") == 0)
        exit(3);
    raise(SIGTERM);
    return 0;
}
"""

BUSY_CPP = r"""#include <chrono>
#include <csignal>
#include <cstdlib>
#include <string>
#include <thread>

static int work(int t, int i) {
    return t + i;
}

static void busy(int t) {
    for (int i = 0;; i++)
        work(t, i);
}

int main(int, char** argv) {
    for (int t = 0; t < 4; t++)
        std::thread(busy, t).detach();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (std::string(argv[1]) == "exit")
        std::exit(3);
    std::raise(SIGTERM);
    return 0;
}
"""


@pytest.mark.parametrize("how", ["exit", "sigterm"])
@pytest.mark.parametrize(
    ("compiler", "std", "name", "source"),
    [("gcc", "-std=c11", "busy.c", BUSY_C), ("g++", "-std=c++17", "busy.cpp", BUSY_CPP)],
    ids=["c", "cpp"],
)
def test_threads_writing_when_the_process_ends(
    compiler: str,
    std: str,
    name: str,
    source: str,
    how: str,
    instrument_copy: Callable[..., Path],
    tmp_path: Path,
) -> None:
    src = tmp_path / "src" / "busy"
    src.mkdir(parents=True)
    (src / name).write_text(source, "utf-8")
    out = instrument_copy(src, "--probes", "function,args")
    exe = _build(compiler, [std, "-O2", "-Wall", "-Wextra", "-Werror"], name, out)
    code, events = _run(exe, how, tmp_path)
    assert code == (3 if how == "exit" else -signal.SIGTERM)
    # Enter events carry (t, i): per thread every i from 0 once, in order. Exits carry no
    # args: all but the calls in flight (one per thread at most) have theirs.
    enters: dict[int, list[int]] = {}
    for e in events:
        if e["fn"] == "work" and e["ev"] == "enter":
            enters.setdefault(e["args"]["t"], []).append(e["args"]["i"])
    assert sorted(enters) == [0, 1, 2, 3]
    for made in enters.values():
        assert made == list(range(len(made))) and len(made) > 1000
    exits = sum(e["fn"] == "work" and e["ev"] == "exit" for e in events)
    total = sum(len(made) for made in enters.values())
    assert total - 4 <= exits <= total


# A parent and its forked child write at once to stderr, a pipe: more than a pipe keeps whole
# in one write (4096 bytes), so each buffer goes out in pieces cut at line ends.
PIPE_C = r"""#define _POSIX_C_SOURCE 200809L
#include <sys/wait.h>
#include <unistd.h>

static int work(int i)
{
    return i;
}

static void spin(int n)
{
    int i;
    for (i = 0; i < n; i++)
        work(i);
}

int main(void)
{
    pid_t child = fork();
    spin(20000);
    if (child > 0)
        waitpid(child, NULL, 0);
    return 0;
}
"""


def test_events_to_a_pipe_from_two_processes_stay_whole_lines(
    instrument_copy: Callable[..., Path], tmp_path: Path
) -> None:
    src = tmp_path / "src" / "pipe"
    src.mkdir(parents=True)
    (src / "pipe.c").write_text(PIPE_C, "utf-8")
    out = instrument_copy(src)
    exe = _build("gcc", ["-std=c11", "-Wall", "-Wextra", "-Werror"], "pipe.c", out)
    run = run_program([str(exe)], out, timeout=120)  # no TELEMETRY_INJECT_OUT: stderr
    assert run.returncode == 0
    events = [json.loads(line) for line in run.stderr.splitlines()]  # whole lines only
    works = Counter(e["pid"] for e in events if e["fn"] == "work" and e["ev"] == "enter")
    assert sorted(works.values()) == [20000, 20000]
