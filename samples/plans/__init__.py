"""The plan layers and rasters of the synthetic Lianyungang (issue 4).

:func:`generate_plans` writes ``plans/`` (six layers in the formats, CRSs and encodings
departments deliver) and ``rasters/`` (DEM and imagery COGs) and returns their manifest
sections, including every designed conflict with its area measured independently.
"""

from samples.plans.generate import SCALE_NAMES, generate_plans

__all__ = ["SCALE_NAMES", "generate_plans"]
