"""Benchmarks shipped with smallwood: `smallwood bench ...`. Each prints its figures, or one
JSON object with `--json`."""
