"""Benchmarks (docs/design.md §11): ``python -m bench.run``. Numbers are printed, never asserted."""
