"""Synthetic sample cities: the generators behind ``onemap samples generate``.

``samples.grid`` draws a synthetic Lianyungang for grid governance (admin areas, cells,
buildings, houses, households, persons, inputs to import); ``samples.plans`` draws its plan
layers and rasters with the conflicts designed into them. No real data is used anywhere.

Like ``bench``, this package sits above the domain packages: it may import ``gis``, ``grid``
and ``layers`` (to reuse their constants, codes and writers), but none of them, nor the
service, imports it; only the ``samples generate`` CLI command does, inside its body.
Loading a generated city is domain work, in :mod:`grid.loader` and :mod:`layers.loader`.
"""
