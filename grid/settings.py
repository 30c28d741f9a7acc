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
