"""Metrics, traces and logs: what platform teams read to run the gateway."""
