"""What a user would otherwise run: ast-grep with rules written for function-entry telemetry,
and the original design — one Python process per function that parses the file and inserts
one snippet."""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from measure import Measured, run

RULES = Path(__file__).with_name("astgrep")
# What each rule inserts, counted in the output: one per function instrumented.
ENTRY = {"python": "_tel_enter(", "javascript": "__tel_enter("}
MAX_PASSES = 6  # ast-grep applies no fix inside another: nested functions take another pass


def ast_grep_binary() -> str | None:
    here = Path(sys.executable).parent
    for name in ("ast-grep", "sg"):
        if (here / name).is_file():
            return str(here / name)
    return None


def ast_grep(lang: str, root: Path, files: list[Path]) -> dict[str, object]:
    """Passes of `ast-grep scan --update-all` until nothing changes; wall and CPU summed."""
    binary = ast_grep_binary()
    rules = RULES / f"{lang}.yml"
    if binary is None or not rules.is_file():
        return {}
    passes: list[Measured] = []
    changes: list[int] = []
    for _ in range(MAX_PASSES):
        m = run([binary, "scan", "--rule", str(rules), "--update-all", str(root)])
        passes.append(m)
        found = re.search(r"Applied (\d+) changes", m.stdout + m.stderr)
        changes.append(int(found.group(1)) if found else 0)
        if not changes[-1]:
            break
    inserted = sum(p.read_text("utf-8", "replace").count(ENTRY[lang]) for p in files)
    return {
        "first_pass_wall": passes[0].wall,
        "first_pass_instrumented": changes[0],
        "version": subprocess.run(
            [binary, "--version"], capture_output=True, text=True
        ).stdout.strip(),
        "passes": len(passes),
        "changes_per_pass": changes,
        "wall": sum(m.wall for m in passes),
        "cpu": sum(m.cpu for m in passes),
        "peak_rss_mb": max(m.peak_rss_mb for m in passes),
        "instrumented": inserted,
        "load": [passes[0].load_before, passes[-1].load_after],
    }


# The original design, per function: a fresh interpreter imports the parser, parses the whole
# file, finds the function by its line and inserts one line above it.
_ORIGINAL = r"""
import sys, tree_sitter as ts, tree_sitter_python as tsp
path, line = sys.argv[1], int(sys.argv[2])
source = open(path, "rb").read()
tree = ts.Parser(ts.Language(tsp.language())).parse(source)
q = ts.Query(ts.Language(tsp.language()), "(function_definition) @f")
for node in ts.QueryCursor(q).captures(tree.root_node).get("f", []):
    if node.start_point[0] == line:
        start = source.rfind(b"\n", 0, node.start_byte) + 1
        indent = source[start:node.start_byte]
        out = source[:start] + indent + b"@_tel.probe()\n" + source[start:]
        sys.stdout.buffer.write(out)
        break
"""


def original(samples: list[tuple[Path, int]]) -> dict[str, object]:
    """Median and mean milliseconds per function of the one-process-per-function design."""
    times = []
    for path, row in samples:
        started = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-c", _ORIGINAL, str(path), str(row)], capture_output=True
        )
        times.append((time.perf_counter() - started) * 1000)
        if proc.returncode != 0 or not proc.stdout:
            raise RuntimeError(f"original design failed on {path}:{row}: {proc.stderr[-300:]!r}")
    return {
        "functions": len(times),
        "ms_median": statistics.median(times),
        "ms_mean": statistics.mean(times),
    }
