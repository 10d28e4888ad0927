"""Benchmark scripts: python -m bench.<name> (see the README's Benchmark section)."""
