"""`telemetry-inject lsp`: start the language server on stdio (default) or TCP."""

from __future__ import annotations

import argparse
import logging
import os
import sys


def _address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host or "127.0.0.1", int(port)


def run(argv: list[str]) -> int:
    p = argparse.ArgumentParser(
        prog="telemetry-inject lsp",
        description="Language server: code actions, commands and hover that add telemetry.",
    )
    p.add_argument("--stdio", action="store_true", help="talk over stdin/stdout (the default)")
    p.add_argument("--tcp", type=_address, metavar="HOST:PORT", help="listen on a TCP port")
    p.add_argument(
        "--log-level",
        default="INFO",
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="stderr log level (default: INFO)",
    )
    args = p.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr, level=args.log_level, format="%(asctime)s %(name)s: %(message)s"
    )
    # Libraries say what they do on every message or request (the model's HTTP client too);
    # what matters reaches the user as one line anyway.
    for name in ("pygls", "httpx", "openai"):
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(args.log_level)))

    from .app import create_server  # pygls loads only for the server

    server = create_server()
    try:
        if args.tcp:
            server.start_tcp(*args.tcp)
        else:
            server.start_io(*_protocol_streams())
    finally:
        server.close()
    return 0


def _protocol_streams() -> tuple[object, object]:
    """stdin, and a private duplicate of stdout for the protocol; fd 1 itself then points at
    stderr, so a stray print (ours, a library's, a child process's) cannot corrupt the stream."""
    out_fd = os.dup(sys.stdout.fileno())
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    return sys.stdin.buffer, os.fdopen(out_fd, "wb", buffering=0)
