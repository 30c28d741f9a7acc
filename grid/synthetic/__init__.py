"""A synthetic Lianyungang for the demo, the tests and the benchmarks (no real data here)."""
