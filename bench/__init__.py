"""Benchmarks: ``python3 dev.py bench`` runs them and prints their figures."""
