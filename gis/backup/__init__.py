"""Backups, WAL archiving and point-in-time restore of the local cluster, through pgBackRest.

Two repositories (1: the local copy, 2: the remote site), encrypted, compressed, with
retention; the drill restores into a scratch cluster and compares every table.
"""

from gis.backup.checksums import TableSum, compare, table_sums
from gis.backup.config import Layout, configure_archiving, layout
from gis.backup.drill import archive_now, drill
from gis.backup.repo import REPOS, BackupInfo, BackupType, Repository
from gis.backup.restore import RestoredCluster, check_target, free_port, remove, restore
from gis.backup.settings import BackupSettings

__all__ = [
    "REPOS",
    "BackupInfo",
    "BackupSettings",
    "BackupType",
    "Layout",
    "Repository",
    "RestoredCluster",
    "TableSum",
    "archive_now",
    "check_target",
    "compare",
    "configure_archiving",
    "drill",
    "free_port",
    "layout",
    "remove",
    "restore",
    "table_sums",
]
