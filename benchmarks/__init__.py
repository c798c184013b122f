"""Benchmarks (not tests): `make bench` runs the scale benchmark."""
