"""Where a package's data files are (``<package>/data``), found through importlib.resources.

The same lookup works in a checkout, an editable install and a wheel: nothing walks up from
``__file__`` to a repository that an installed platform does not have. pip installs wheels
unpacked, so the files are real paths that GDAL, PyYAML and friends can open.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path


def data_dir(package: str) -> Path:
    """The ``data`` folder of ``package`` (a dotted name), as a filesystem path."""
    folder = Path(str(files(package).joinpath("data")))
    if not folder.is_dir():
        raise FileNotFoundError(f"{package} ships no data folder (looked in {folder})")
    return folder
