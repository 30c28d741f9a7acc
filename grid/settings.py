"""Settings of the grid package: the key that protects personal data."""

from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class PrivacySettings(BaseSettings):
    """``ONEMAP_SECRET_KEY`` or, when unset, the key file ``onemap keys init`` writes (0600).

    The key encrypts citizen IDs and phones and keys their lookup hashes: losing it makes the
    stored values unreadable, changing it makes the hashes unmatchable.
    """

    model_config = SettingsConfigDict(env_prefix="ONEMAP_", extra="ignore")

    secret_key: SecretStr | None = None
    secret_key_file: Path = Path(".onemap/secret.key")


class GridSettings(BaseSettings):
    """Tolerances and the city's extent: practice, not law (docs/domain.md), so settings.

    ``coverage_tolerance_m2``: gaps, overlaps and cell parts outside their community smaller
    than this (ellipsoidal m²) are floating-point noise, not findings.
    ``city_bbox``: lon/lat box (EPSG:4490) a grid geometry must lie in; the city spans
    ≈118.4–119.8°E, 34.0–35.1°N, widened by a margin.
    ``row_tolerance_m``: cells whose point-on-surface differ less than this north-south are in
    one row when numbering west→east, north→south.
    """

    model_config = SettingsConfigDict(env_prefix="ONEMAP_GRID_", extra="ignore")

    coverage_tolerance_m2: float = 1.0
    city_bbox: tuple[float, float, float, float] = (118.3, 33.9, 119.9, 35.2)
    row_tolerance_m: float = 20.0
