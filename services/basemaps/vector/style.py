"""A layer's Mapnik style, completed for one database and one tile matrix set.

The style files (config/basemap/{layer}.xml) are plain Mapnik XML with one shared base
datasource named ``onemap`` (type, geometry column, SRID); here it receives the connection
(host, port, user, password, dbname) and the map its spatial reference: EPSG:4490 for set
``c``, EPSG:3857 for set ``w``. The layers' data stay in EPSG:4490 and Mapnik reprojects them.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from sqlalchemy.engine import URL, make_url

from services.basemaps.jobs import TileSet

STYLES_DIR: Final = Path(__file__).resolve().parents[3] / "config" / "basemap"
"""The styles of the checkout (config/basemap/)."""
BASE_DATASOURCE: Final = "onemap"
MAP_SRS: Final[dict[str, str]] = {"c": "epsg:4490", "w": "epsg:3857"}


@dataclass(frozen=True)
class Connection:
    """What Mapnik's postgis datasource needs to log in."""

    host: str
    port: int
    user: str
    password: str
    dbname: str

    @classmethod
    def from_url(cls, url: URL | str) -> Connection:
        parsed = make_url(url) if isinstance(url, str) else url
        return cls(
            host=parsed.host or "localhost",
            port=parsed.port or 5432,
            user=parsed.username or "",
            password=parsed.password or "",
            dbname=parsed.database or "",
        )

    def params(self) -> dict[str, str]:
        return {
            "host": self.host,
            "port": str(self.port),
            "user": self.user,
            "password": self.password,
            "dbname": self.dbname,
        }

    def conninfo(self) -> str:
        """The same as a libpq connection string, quoted."""
        from psycopg.conninfo import make_conninfo

        return make_conninfo("", **self.params())

    def __repr__(self) -> str:  # never the password
        return f"Connection({self.user}@{self.host}:{self.port}/{self.dbname})"


def style_path(layer: str, styles_dir: Path = STYLES_DIR) -> Path:
    return styles_dir / f"{layer}.xml"


def map_xml(layer: str, tileset: TileSet, connection: Connection, styles_dir: Path) -> str:
    """The Mapnik XML of ``layer`` for ``tileset``, connected to ``connection``."""
    path = style_path(layer, styles_dir)
    if not path.is_file():
        raise FileNotFoundError(f"no style for {layer}: {path} (config/basemap/ of the checkout)")
    root = ET.parse(path).getroot()
    root.set("srs", MAP_SRS[tileset])
    bases = [d for d in root.findall("Datasource") if d.get("name") == BASE_DATASOURCE]
    if len(bases) != 1:
        raise ValueError(f"{path}: expected one <Datasource name={BASE_DATASOURCE!r}>")
    (base,) = bases
    for name, value in connection.params().items():
        for old in [p for p in base.findall("Parameter") if p.get("name") == name]:
            base.remove(old)
        parameter = ET.SubElement(base, "Parameter", name=name)
        parameter.text = value
    return ET.tostring(root, encoding="unicode")
