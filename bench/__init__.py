"""Benchmarks for Luoshi: run them all with `.venv/bin/python -m bench.run` (or `make bench`)."""
