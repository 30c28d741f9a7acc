"""The generated pgBackRest configuration, the repository key, and the cluster's archiving.

The configuration (``pgbackrest.conf``) holds no secret. The repositories' passphrases are
in their own file (``key/repo-key.conf``, mode 0600, read through ``--config-include-path``),
written once: losing it makes every backup unreadable, so it is copied to a safe place apart
from the repositories, the database passwords and the personal-data key
(docs/operations-backup.md).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from gis.backup._run import give_to_cluster_user, pgbackrest_bin, reachable
from gis.backup.settings import BackupSettings
from gis.errors import BackupError

if TYPE_CHECKING:
    from gis.pgserver import LocalServer

ARCHIVE_CONF = "onemap-archive.conf"
"""The file in the data directory with the archiving settings, included by postgresql.conf."""
_INCLUDE = f"include_if_exists = '{ARCHIVE_CONF}'"


class Layout(NamedTuple):
    """Every path of the backup home."""

    dir: Path
    config: Path
    key_dir: Path
    key_file: Path
    repo1: Path
    repo2: Path
    log: Path
    spool: Path
    lock: Path


def layout(settings: BackupSettings) -> Layout:
    """Absolute paths of the backup home (the repositories may be set apart)."""
    home = settings.dir.absolute()
    return Layout(
        dir=home,
        config=home / "pgbackrest.conf",
        key_dir=home / "key",
        key_file=home / "key" / "repo-key.conf",
        repo1=(settings.repo1_path or home / "repo1").absolute(),
        repo2=(settings.repo2_path or home / "repo2").absolute(),
        log=home / "log",
        spool=home / "spool",
        lock=home / "lock",
    )


def render_config(settings: BackupSettings, paths: Layout, data_dir: Path, port: int) -> str:
    """The text of ``pgbackrest.conf`` for the cluster in ``data_dir`` on ``port``."""
    from gis.pgserver import SUPERUSER

    lines = ["[global]"]
    for n, repo in ((1, paths.repo1), (2, paths.repo2)):
        lines += [
            f"repo{n}-path={repo}",
            f"repo{n}-retention-full={settings.retention_full}",
            f"repo{n}-retention-diff={settings.retention_diff}",
        ]
        if settings.cipher:
            lines.append(f"repo{n}-cipher-type=aes-256-cbc")
    lines += [
        f"compress-type={settings.compress_type}",
        f"process-max={settings.process_max}",
        f"log-path={paths.log}",
        f"lock-path={paths.lock}",
        f"spool-path={paths.spool}",
        "log-level-console=warn",
        "log-level-file=info",
        "start-fast=y",
        f"archive-async={'y' if settings.archive_async else 'n'}",
    ]
    if settings.compress_level is not None:
        lines.append(f"compress-level={settings.compress_level}")
    lines += [line for line in settings.extra_conf.splitlines() if line.strip()]
    lines += ["", f"[{settings.stanza}]", f"pg1-path={data_dir}", f"pg1-port={port}"]
    lines.append(f"pg1-user={SUPERUSER}")
    return "\n".join(lines) + "\n"


def _write(path: Path, text: str, mode: int) -> None:
    """Write ``path`` whole (a temporary file renamed over it), owned by the cluster user."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, mode)
    give_to_cluster_user(tmp)
    os.replace(tmp, path)


def _mkdir(path: Path, mode: int = 0o750) -> None:
    path.mkdir(parents=True, exist_ok=True, mode=mode)
    give_to_cluster_user(path)


def prepare(settings: BackupSettings, data_dir: Path, port: int) -> Layout:
    """Create the backup home, the key (once) and the configuration; return the layout."""
    pgbackrest_bin()
    paths = layout(settings)
    _mkdir(paths.dir)
    if not reachable(paths.dir):
        raise BackupError(
            f"the postgres OS user cannot reach {paths.dir}: set ONEMAP_BACKUP_DIR to a "
            "directory it can enter"
        )
    for path in (paths.repo1, paths.repo2, paths.log, paths.spool, paths.lock):
        _mkdir(path)
    _mkdir(paths.key_dir, 0o700)
    os.chmod(paths.key_dir, 0o700)
    if not paths.key_file.exists():
        passes = [f"repo{n}-cipher-pass={secrets.token_urlsafe(48)}" for n in (1, 2)]
        _write(paths.key_file, "[global]\n" + "\n".join(passes) + "\n", 0o600)
    _write(paths.config, render_config(settings, paths, data_dir, port), 0o640)
    return paths


def base_args(settings: BackupSettings, paths: Layout) -> list[str]:
    """``pgbackrest`` with the generated configuration, the key and the stanza."""
    return [
        pgbackrest_bin(),
        f"--config={paths.config}",
        f"--config-include-path={paths.key_dir}",
        f"--stanza={settings.stanza}",
    ]


def archive_get_command(settings: BackupSettings, data_dir: Path) -> str:
    """The ``restore_command`` that fetches WAL from the repositories for the cluster in
    ``data_dir`` (a restored cluster, a replica falling back on the archive)."""
    import shlex

    args = [*base_args(settings, layout(settings)), f"--pg1-path={data_dir}"]
    return " ".join(shlex.quote(a) for a in args) + ' archive-get %f "%p"'


def _conf_quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def archive_conf(settings: BackupSettings, paths: Layout) -> str:
    """The server settings that archive every WAL segment to both repositories."""
    import shlex

    command = " ".join(shlex.quote(a) for a in base_args(settings, paths)) + " archive-push %p"
    return "\n".join(
        [
            "# Written by `onemap db start` (gis/backup/config.py); edits are overwritten.",
            "wal_level = replica",
            "archive_mode = on",
            f"archive_command = {_conf_quote(command)}",
            f"archive_timeout = {settings.archive_timeout_s}",
            "track_commit_timestamp = on",
            "",
        ]
    )


def configure_archiving(server: LocalServer, settings: BackupSettings) -> bool:
    """Turn WAL archiving on in the cluster's configuration; True when it changed.

    Called by ``LocalServer.start`` before the server starts (``archive_mode`` needs a
    restart). With ``ONEMAP_BACKUP_ARCHIVE=false`` the settings file is emptied instead.
    """
    conf = server.data_dir / "postgresql.conf"
    text = conf.read_text()
    if _INCLUDE not in text:
        conf.write_text(text.rstrip("\n") + "\n\n# WAL archiving by onemap\n" + _INCLUDE + "\n")
    target = server.data_dir / ARCHIVE_CONF
    wanted = ""
    if settings.archive:
        paths = prepare(settings, server.data_dir, server.port)
        wanted = archive_conf(settings, paths)
    current = target.read_text() if target.exists() else None
    if current == wanted:
        return False
    _write(target, wanted, 0o600)
    return True
