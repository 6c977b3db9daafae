"""A tiny shop: the bundled example that telemetry-inject instruments."""
