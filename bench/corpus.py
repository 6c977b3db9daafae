"""The benchmark corpus: pinned packages fetched with each registry's own client, checked
against pinned digests, unpacked under ``bench/corpus/<language>/<package>-<version>/``.

    .venv/bin/python bench/corpus.py [--languages python,javascript,go,java,rust]

Python: the django and sympy sdists (every ``.py``). JavaScript: lodash (minified builds left
out), three's ``src`` and ``examples/jsm``, typescript's ``lib/*.js`` (``typescript.js`` alone is
200,000 lines). Smaller sets for Go (tests left out, as the engine leaves them), Java and
Rust. Downloads are kept in ``bench/corpus/downloads``; a package is unpacked once (a stamp file
records its digest).
"""

from __future__ import annotations

import argparse
import base64
import fnmatch
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).with_name("corpus")
DOWNLOADS = ROOT / "downloads"


@dataclass(frozen=True)
class Package:
    language: str
    registry: str  # pypi, npm, go, maven, crates
    name: str  # maven: group:artifact
    version: str
    digest: str  # sha256:HEX, sha512-BASE64 (npm), h1:BASE64 (go module sum)
    include: tuple[str, ...]  # globs over paths inside the package (its top folder removed)
    exclude: tuple[str, ...] = ()

    @property
    def folder(self) -> Path:
        short = self.name.replace(":", "/").rsplit("/", 1)[-1]
        return ROOT / self.language / f"{short}-{self.version}"


CORPUS: tuple[Package, ...] = (
    Package(
        "python", "pypi", "django", "5.2.19",
        "sha256:ad03d8abc51dbff95ebf34b27123cf0c26a3b62db7ba0cd520783686362533d1", ("*.py",),
    ),
    Package(
        "python", "pypi", "sympy", "1.14.0",
        "sha256:d3d3fe8df1e5a0b42f0e7bdf50541697dbe7d23746e894990c030e2b05e72517", ("*.py",),
    ),
    Package(
        "javascript", "npm", "lodash", "4.17.21",
        "sha512-v2kDEe57lecTulaDIuNTPy3Ry4gLGJ6Z1O3vE1krgXZNrsQ+LFTGHVxVjcXPs17LhbZVGedAJv8XZ1tvj5FvSg==",
        ("*.js",), ("*.min.js",),
    ),
    Package(
        "javascript", "npm", "three", "0.187.0",
        "sha512-Qiu7R+Cmh8CstZsY1uJOSWnVlfo7ZtNLV7mF8Jltk3LB3AtDu9cRZlcnRKkAk8Y4z6KKw35z7Y7Urd7jWY8etA==",
        ("src/*.js", "examples/jsm/*.js"),
    ),
    Package(
        "javascript", "npm", "typescript", "5.9.3",
        "sha512-jl1vZzPDinLr9eUt3J/t7V6FgNEw9QjvBPdysz9KfQDD41fQrC2Y4vKQdiaUpFT4bXlb1RHhLpp8wtm6M5TgSw==",
        ("lib/*.js",), ("lib/*/*",),
    ),
    Package(
        "go", "go", "github.com/spf13/cobra", "v1.9.1",
        "h1:CXSaggrXdbHK9CF+8ywj8Amf7PBRmPCOJugH954Nnlo=", ("*.go",), ("*_test.go",),
    ),
    Package(
        "go", "go", "github.com/google/go-cmp", "v0.7.0",
        "h1:wk8382ETsv4JYUZwIsn6YpYiWiBsYLSJiTsyBybVuN8=", ("*.go",), ("*_test.go",),
    ),
    Package(
        "java", "maven", "com.google.code.gson:gson", "2.11.0",
        "sha256:49a853f71bc874ee1898a4ad5009b57d0c536e5a998b3890253ffbf4b7276ad3", ("*.java",),
    ),
    Package(
        "rust", "crates", "regex-syntax", "0.8.5",
        "sha256:2b15c43186be67a4fd63bee50d0303afffcef381492ebe2c5d87f324e1b8815c", ("*.rs",),
    ),
)  # fmt: skip


class CorpusError(Exception):
    pass


def _run(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        cmd, cwd=cwd, env={**os.environ, **(env or {})}, capture_output=True, text=True
    )
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise CorpusError(f"{' '.join(cmd[:4])} ... failed: {' | '.join(tail)}")
    return proc.stdout


def check_digest(path: Path, digest: str) -> None:
    data = path.read_bytes()
    if digest.startswith("sha256:"):
        ok = hashlib.sha256(data).hexdigest() == digest[7:]
    elif digest.startswith("sha512-"):
        ok = base64.b64encode(hashlib.sha512(data).digest()).decode() == digest[7:]
    else:
        raise CorpusError(f"{path.name}: cannot check digest {digest}")
    if not ok:
        raise CorpusError(f"{path.name} does not match its pinned digest {digest[:20]}...")


def _fetch_pypi(pkg: Package, into: Path) -> Path:
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as req:
        req.write(f"{pkg.name}=={pkg.version} --hash={pkg.digest}\n")
    try:
        _run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
              "--require-hashes", "-r", req.name, "-d", str(into)])  # fmt: skip
    finally:
        os.unlink(req.name)
    return next(into.glob(f"{pkg.name}-{pkg.version}.tar.gz"))


def _fetch_npm(pkg: Package, into: Path) -> Path:
    out = _run(["npm", "pack", f"{pkg.name}@{pkg.version}", "--pack-destination", str(into),
                "--json", "--silent"])  # fmt: skip
    return into / json.loads(out)[0]["filename"]


def _fetch_maven(pkg: Package, into: Path) -> Path:
    _run(["mvn", "-q", "-B", "dependency:copy", f"-Dartifact={pkg.name}:{pkg.version}:jar:sources",
          f"-DoutputDirectory={into}"])  # fmt: skip
    return into / f"{pkg.name.partition(':')[2]}-{pkg.version}-sources.jar"


def _fetch_crate(pkg: Package, into: Path) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "src").mkdir()
        (Path(tmp) / "src" / "lib.rs").write_text("")
        (Path(tmp) / "Cargo.toml").write_text(
            '[package]\nname = "corpus-probe"\nversion = "0.0.0"\nedition = "2021"\n'
            f'[dependencies]\n{pkg.name} = "={pkg.version}"\n'
        )
        _run(["cargo", "fetch", "--quiet"], cwd=Path(tmp))
    home = Path(os.environ.get("CARGO_HOME", Path.home() / ".cargo"))
    name = f"{pkg.name}-{pkg.version}.crate"
    found = next((home / "registry" / "cache").glob(f"*/{name}"), None)
    if found is None:
        raise CorpusError(f"cargo fetch left no {name} under {home}")
    shutil.copy(found, into / name)
    return into / name


def _go_module(pkg: Package) -> Path:
    """go mod download into a private module cache; the tool checks the h1: sum it reports."""
    cache = ROOT / ".gomodcache"
    env = {"GOMODCACHE": str(cache), "GOFLAGS": "-mod=mod", "GOSUMDB": "off"}
    info = json.loads(
        _run(["go", "mod", "download", "-json", f"{pkg.name}@{pkg.version}"], env=env)
    )
    if info.get("Sum") != pkg.digest:
        raise CorpusError(f"{pkg.name}@{pkg.version}: sum {info.get('Sum')} is not {pkg.digest}")
    return Path(info["Dir"])


def _members(names: list[str], pkg: Package, strip_top: bool) -> dict[str, str]:
    """Archive member -> path inside the package, for the files the package includes."""
    out = {}
    for name in names:
        parts = PurePosixPath(name).parts
        rel = "/".join(parts[1:] if strip_top else parts)
        if not rel or rel.endswith("/"):
            continue
        if any(_glob(rel, g) for g in pkg.include) and not any(_glob(rel, g) for g in pkg.exclude):
            out[name] = rel
    return out


def _glob(rel: str, pattern: str) -> bool:
    """``dir/*.js`` matches below dir at any depth; a bare ``*.py`` matches anywhere."""
    if "/" not in pattern:
        return fnmatch.fnmatchcase(rel.rsplit("/", 1)[-1], pattern)
    head, _, tail = pattern.rpartition("/")
    return rel.startswith(head + "/") and fnmatch.fnmatchcase(rel.rsplit("/", 1)[-1], tail)


def _unpack(archive: Path, pkg: Package, dest: Path) -> int:
    count = 0
    if archive.suffix in (".jar", ".zip"):
        with zipfile.ZipFile(archive) as zf:
            for member, rel in _members(zf.namelist(), pkg, strip_top=False).items():
                target = dest / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(zf.read(member))
                count += 1
        return count
    with tarfile.open(archive) as tf:
        members = {m.name: m for m in tf.getmembers() if m.isfile()}
        for name, rel in _members(list(members), pkg, strip_top=True).items():
            data = tf.extractfile(members[name])
            assert data is not None
            target = dest / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data.read())
            count += 1
    return count


def _archive_name(pkg: Package) -> str:
    short = pkg.name.rsplit(":", 1)[-1]
    return {
        "pypi": f"{pkg.name}-{pkg.version}.tar.gz",
        "npm": f"{pkg.name}-{pkg.version}.tgz",
        "maven": f"{short}-{pkg.version}-sources.jar",
        "crates": f"{pkg.name}-{pkg.version}.crate",
    }[pkg.registry]


def ensure(pkg: Package) -> Path:
    """The package's unpacked folder, fetching and checking it first if needed."""
    stamp = pkg.folder / ".corpus-digest"
    wanted = json.dumps([pkg.digest, pkg.include, pkg.exclude])
    if stamp.is_file() and stamp.read_text() == wanted:
        return pkg.folder
    shutil.rmtree(pkg.folder, ignore_errors=True)
    tmp = pkg.folder.with_name(pkg.folder.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if pkg.registry == "go":
        src = _go_module(pkg)
        names = [p.relative_to(src).as_posix() for p in src.rglob("*") if p.is_file()]
        for rel in _members(names, pkg, strip_top=False).values():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src / rel, tmp / rel)
    else:
        DOWNLOADS.mkdir(parents=True, exist_ok=True)
        archive = DOWNLOADS / _archive_name(pkg)
        if not archive.is_file():
            fetch = {
                "pypi": _fetch_pypi,
                "npm": _fetch_npm,
                "maven": _fetch_maven,
                "crates": _fetch_crate,
            }[pkg.registry]
            archive = fetch(pkg, DOWNLOADS)
        check_digest(archive, pkg.digest)
        if _unpack(archive, pkg, tmp) == 0:
            raise CorpusError(f"{archive.name} holds none of {pkg.include}")
    (tmp / ".corpus-digest").write_text(wanted)
    os.replace(tmp, pkg.folder)
    return pkg.folder


def packages(languages: list[str] | None = None) -> list[Package]:
    return [p for p in CORPUS if languages is None or p.language in languages]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--languages", help="comma-separated (default: all)")
    args = p.parse_args()
    wanted = args.languages.split(",") if args.languages else None
    for pkg in packages(wanted):
        try:
            folder = ensure(pkg)
        except CorpusError as exc:
            print(f"corpus: {exc}", file=sys.stderr)
            return 1
        files = sum(1 for f in folder.rglob("*") if f.is_file() and f.name != ".corpus-digest")
        print(f"{pkg.language:<11} {pkg.name}@{pkg.version}: {files} files in {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
