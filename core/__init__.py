"""telemetry-inject engine: analysis, planning, insertion scripts, sandbox, reconstruction."""
