"""Benchmarks: `python -m bench.ingest` measures webhook acknowledgement and processing throughput."""
