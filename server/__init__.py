"""telemetry-inject language server (pygls) and the command-line entry point."""
