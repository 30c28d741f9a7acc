"""Benchmarks: ``python -m bench [NAME ...]`` runs ``bench/<name>.py``'s ``run() -> dict``.

A result with ``"passed": False`` makes the run exit non-zero.
"""
