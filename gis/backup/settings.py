"""Settings of backups and WAL archiving (``ONEMAP_BACKUP_*``), built once at the edge."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class BackupSettings(BaseSettings):
    """Where pgBackRest keeps its two repositories, and how long and how hard it works.

    Attributes
    ----------
    dir
        The backup home: generated configuration, repository key, logs, spool.
    repo1_path, repo2_path
        Repository 1 (同城, the local copy) and 2 (异地, the remote site); unset, ``repo1``
        and ``repo2`` under ``dir``. In production repo 2 is another host or object storage:
        give its ``repo2-*`` options in ``extra_conf`` (docs/operations-backup.md).
    stanza
        pgBackRest's name for this cluster.
    retention_full, retention_diff
        Full backups kept per repository, and differential backups kept (older ones and
        the WAL they need are expired after each backup).
    compress_type, compress_level
        Compression of backups and archived WAL.
    process_max
        Parallel processes for backup and restore (compression and transfer).
    archive
        ``onemap db start`` turns WAL archiving on (needed for point-in-time recovery).
    archive_async, archive_timeout_s
        Push WAL asynchronously through a spool directory; force a WAL switch at least
        this often, which bounds the data lost with the site (the RPO) on a quiet database.
    cipher
        Encrypt both repositories (aes-256-cbc) with passphrases kept in the key file.
    extra_conf
        Lines appended to the ``[global]`` section as they are (SFTP or S3 options of repo 2).
    """

    model_config = SettingsConfigDict(env_prefix="ONEMAP_BACKUP_", extra="ignore")

    dir: Path = Path(".onemap/backup")
    repo1_path: Path | None = None
    repo2_path: Path | None = None
    stanza: str = Field(default="onemap", pattern=r"^[a-z][a-z0-9_-]{0,62}$")
    retention_full: int = Field(default=2, ge=1)
    retention_diff: int = Field(default=6, ge=1)
    compress_type: Literal["zst", "lz4", "gz", "bz2", "none"] = "zst"
    compress_level: int | None = Field(default=None, ge=0, le=19)
    process_max: int = Field(default=2, ge=1, le=64)
    archive: bool = True
    archive_async: bool = False
    archive_timeout_s: int = Field(default=60, ge=0)
    cipher: bool = True
    extra_conf: str = ""
