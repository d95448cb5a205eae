"""Phantoms: planted, exactly known changes built on real photographs, for tests and benchmarks."""
