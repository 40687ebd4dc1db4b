"""Benchmarks: they print figures; they are never run as timed tests."""
