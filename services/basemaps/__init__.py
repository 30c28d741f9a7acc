"""Tianditu-compatible base maps rendered from the city's own data."""
