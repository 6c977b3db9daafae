"""Does the output still parse / compile, judged by each language's own tools where they are
cheap to run on thousands of files: CPython's compiler for Python, V8 (node's ``vm``) for
JavaScript, ``gofmt -e`` for Go; tree-sitter (no new error nodes) for the rest."""

from __future__ import annotations

import json
import shutil
import subprocess
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from telemetry_inject.core import language

# Script goal first; what only a module may contain (import/export, top-level await) as a module.
_NODE = r"""
const fs = require("fs"), vm = require("vm");
const bad = [];
for (const file of fs.readFileSync(0, "utf8").split("\n").filter(Boolean)) {
  const code = fs.readFileSync(file, "utf8");
  try { new vm.Script(code, { filename: file }); continue; } catch (e) {}
  try { new vm.SourceTextModule(code, { identifier: file }); continue; } catch (e) {
    bad.push(file + ": " + String(e.message).split("\n")[0]);
  }
}
process.stdout.write(JSON.stringify(bad));
"""


def _compile_py(path: str) -> str:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(Path(path).read_bytes(), path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        return f"{path}: {type(exc).__name__}: {exc}"
    return ""


def _tree_sitter(args: tuple[str, str]) -> str:
    lang, path = args
    tree = language.get(lang).parser().parse(Path(path).read_bytes())
    return f"{path}: tree-sitter error nodes" if tree.root_node.has_error else ""


def failures(lang: str, paths: list[Path]) -> list[str]:
    """The files among paths that do not parse, each with the first line of why."""
    names = [str(p) for p in paths]
    if not names:
        return []
    if lang == "javascript" and shutil.which("node"):
        proc = subprocess.run(
            ["node", "--experimental-vm-modules", "--no-warnings", "-e", _NODE],
            input="\n".join(names),
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode == 0:
            return list(json.loads(proc.stdout))
    if lang == "go" and shutil.which("gofmt"):
        proc = subprocess.run(["gofmt", "-e", "-l", *names], capture_output=True, text=True)
        first: dict[str, str] = {}
        for line in proc.stderr.splitlines():
            first.setdefault(line.split(":", 1)[0], line)
        return list(first.values())
    with ProcessPoolExecutor(2) as pool:
        if lang == "python":
            found = pool.map(_compile_py, names, chunksize=64)
        else:
            found = pool.map(_tree_sitter, [(lang, n) for n in names], chunksize=64)
        return [f for f in found if f]


def tool(lang: str) -> str:
    return {
        "python": "CPython compile()",
        "javascript": "node vm.Script / SourceTextModule",
        "go": "gofmt -e",
    }.get(lang, "tree-sitter")
