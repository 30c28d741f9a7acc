"""The grid part of a synthetic Lianyungang (:func:`samples.grid.city.generate`), for the
demo, the tests and the benchmarks (no real data here)."""
