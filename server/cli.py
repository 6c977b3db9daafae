"""Console entry point: `telemetry-inject lsp` starts the server; the rest is core's CLI."""

from __future__ import annotations

import sys

from telemetry_inject.core import cli as core_cli


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "lsp":
        from .main import run  # imported only here: pygls is not needed for the CLI

        return run(argv[1:])
    return core_cli.main(argv)


if __name__ == "__main__":
    sys.exit(main())
