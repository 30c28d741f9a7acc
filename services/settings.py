"""All settings of the running platform, built once at the edge (CLI or ``create_app``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from gis.backup.settings import BackupSettings
from gis.settings import DatabaseSettings, ReplicaSettings
from grid.settings import GridSettings, PrivacySettings
from layers.settings import PlanSettings


class ServerSettings(BaseSettings):
    """Where ``onemap serve`` listens, and what ``/health`` tells (``ONEMAP_*``).

    Attributes
    ----------
    health_details
        ``/health`` adds the PostgreSQL and PostGIS versions, the schema revision and the
        grid's row counts (``ONEMAP_HEALTH_DETAILS=true``). Off, it answers only its status:
        versions help an attacker pick exploits, and counts of persons and households are
        not for anonymous callers.
    """

    model_config = SettingsConfigDict(env_prefix="ONEMAP_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    workers: int = Field(default=1, ge=1)
    health_details: bool = False


class OgcSettings(BaseSettings):
    """The OGC API mounted at ``/ogc`` (``ONEMAP_OGC_*``).

    Attributes
    ----------
    public_url
        Base URL of the API as clients see it (``https://onemap.example/ogc``); unset, links
        are built from each request's scheme and ``Host``, which suits one server.
    default_limit, max_limit
        Page size without ``limit``, and the largest page: a bigger ``limit`` is cut to it,
        as OGC API Features Part 1 asks (no error).
    count_limit
        ``numberMatched`` of a filtered request is counted exactly up to this many features
        and left out above it (the standard makes it optional; it is never an estimate).
        Unfiltered requests are always exact (counts kept by the database).
    statement_timeout_ms
        One query's time limit; a filter that needs longer is answered with HTTP 400.
    pool_size
        Database connections per worker process for the feature routes (kept open; a
        request waits for one, first come first served, rather than opening more). About
        the cores divided by the workers, plus one: statements beyond what the cores run
        only queue in the OS scheduler and stretch p99 (services/ogcapi/pool.py).
    max_filter_chars, max_filter_terms, max_filter_vertices
        The largest CQL2 ``filter`` a request may carry: its length in characters, its
        number of terms (predicates and logical operators counted together; a chain of AND,
        or of OR, counts once, so 150 OR'd predicates are 151 terms) and the vertices of all
        its geometry literals (a BBOX counts 4). Above them the answer is 400 naming the
        limit and its value (414 when the URL itself is too long): a filter's cost in the
        database grows with each. Nesting is bounded apart, at 128 levels.
    max_html_limit
        The largest page served as HTML (a browser renders every feature; bigger
        ``limit`` values are cut to it, as for JSON above ``max_limit``).
    tile_pool_size
        Database connections per worker process for vector tiles, apart from the feature
        routes' pool: a tile statement runs 1-300 ms, against well under a millisecond for
        most feature queries, so with one shared small pool short requests queued behind
        tiles and tiles behind each other (4 per worker served 1.1-1.6x the tiles of 2 in
        ``bench tiles``). Tile statements run without parallel workers: tiles come many at
        a time, and a worker's start-up buys nothing when the cores are busy with other
        tiles (docs/tiles.md).
    tile_feature_limit
        The most features of one layer in one vector tile: the largest (by area) are kept
        and the answer says so (``OGC-Tile-Truncated: true``, services/ogcapi/tiles.py).
    tile_cache_mb
        Megabytes of vector tiles kept in memory per worker process (an LRU checked against
        the data's change stamps at every request, services/ogcapi/tile_cache.py); 0 keeps
        none.
    max_feature_bytes
        The largest body of POST, PUT and PATCH on a feature (HTTP 413 above it): one
        building or person is a few kilobytes.
    """

    model_config = SettingsConfigDict(env_prefix="ONEMAP_OGC_", extra="ignore")

    public_url: str | None = None
    default_limit: int = Field(default=10, ge=1)
    max_limit: int = Field(default=10_000, ge=1)
    count_limit: int = Field(default=100_000, ge=0)
    statement_timeout_ms: int = Field(default=15_000, ge=100)
    pool_size: int = Field(default=3, ge=1)
    max_filter_chars: int = Field(default=10_000, ge=100)
    max_filter_terms: int = Field(default=200, ge=1)
    max_filter_vertices: int = Field(default=10_000, ge=4)
    max_html_limit: int = Field(default=100, ge=1)
    max_feature_bytes: int = Field(default=1_048_576, ge=1024)
    tile_pool_size: int = Field(default=4, ge=1)
    tile_feature_limit: int = Field(default=20_000, ge=1)
    tile_cache_mb: float = Field(default=64, ge=0)


class AuthSettings(BaseSettings):
    """API keys (``ONEMAP_AUTH_*``).

    Attributes
    ----------
    cache_seconds
        How long a checked key is trusted before the database is asked again: reads cost no
        extra round trip, and a revoked or expired key stops working within this time.
    max_failures, failure_window_seconds
        A client address that presents this many bad keys within the window gets 429 with
        ``Retry-After`` until the oldest failure leaves the window: guessing keys is slowed
        to ``max_failures`` per window.
    planners_edit
        Whether planners may create, change and delete grid rows (by default they read what
        a worker may and revert changes, but edit nothing).
    """

    model_config = SettingsConfigDict(env_prefix="ONEMAP_AUTH_", extra="ignore")

    cache_seconds: float = Field(default=5.0, ge=0, le=300)
    max_failures: int = Field(default=10, ge=1)
    failure_window_seconds: float = Field(default=60.0, gt=0)
    planners_edit: bool = False


class HttpSettings(BaseSettings):
    """What every HTTP answer obeys, whatever the route (``ONEMAP_HTTP_*``).

    Attributes
    ----------
    allowed_hosts
        ``Host`` header values accepted (host names, optionally with ``:port``; ``*.example``
        matches subdomains). Another host gets 400 and is never written into a link. When
        ``ONEMAP_OGC_PUBLIC_URL`` is set, links use only it and its host is accepted too.
    cors_origins
        Origins allowed to read answers cross-origin (``*`` for public read-only data);
        empty: none, the browser's same-origin rule stands.
    cache_max_age
        ``Cache-Control: max-age`` in seconds of data answers (they carry an ``ETag`` and
        are revalidated with ``If-None-Match`` after that).
    gzip_min_bytes
        Answers at least this large are compressed when the client accepts it.
    max_url_bytes, max_header_bytes, max_body_bytes
        Request size limits: 414, 431 and 413 above them.
    max_sheet_bytes
        The largest collection sheet posted to ``/grid/cells/{code}/sheet``: 413 above it
        (a body is never taken above ``max_body_bytes`` either).
    heavy_requests
        Requests of the feature routes running at once per worker; more wait in line, so
        that ``/health`` and cheap metadata answers never queue behind heavy pages.
    """

    model_config = SettingsConfigDict(env_prefix="ONEMAP_HTTP_", extra="ignore")

    allowed_hosts: list[str] = Field(
        default_factory=lambda: ["localhost", "127.0.0.1", "[::1]", "::1"]
    )
    cors_origins: list[str] = Field(default_factory=list)
    cache_max_age: int = Field(default=60, ge=0)
    gzip_min_bytes: int = Field(default=1024, ge=0)
    max_url_bytes: int = Field(default=16_384, ge=1024)
    max_header_bytes: int = Field(default=32_768, ge=4096)
    max_body_bytes: int = Field(default=10_485_760, ge=1024)
    max_sheet_bytes: int = Field(default=5_242_880, ge=1024)
    heavy_requests: int = Field(default=4, ge=1)


class BasemapSettings(BaseSettings):
    """The Tianditu-compatible base maps (``ONEMAP_BASEMAP_*``, docs/basemaps.md).

    Attributes
    ----------
    dem
        The elevation raster the ``ter`` layer shades (any GDAL raster with a CRS; a COG
        with overviews reads fastest); relative paths are taken from the working directory.
    exaggeration
        Vertical exaggeration of the hill-shade: the sample city is flat, 1 shows little.
    cache_max_age
        ``Cache-Control: max-age`` in seconds of tiles (they carry an ``ETag`` of their bytes).
    render_processes
        Worker processes rendering tiles the cache misses, per server process and for
        ``onemap basemap seed``; unset, one per core. Rendering never runs on the event loop.
    styles
        The folder of the Mapnik styles ``vec.xml``, ``cva.xml`` and ``cia.xml``; unset, the
        checkout's ``config/basemap/`` (an installed wheel names its copy here).
    """

    model_config = SettingsConfigDict(env_prefix="ONEMAP_BASEMAP_", extra="ignore")

    dem: Path = Path("data/samples/small/rasters/dem.tif")
    exaggeration: float = Field(default=5.0, gt=0, le=1000)
    cache_max_age: int = Field(default=3600, ge=0)
    render_processes: int | None = Field(default=None, ge=1, le=256)
    styles: Path | None = None


class BasemapCacheSettings(BaseSettings):
    """The base maps' tile cache (``ONEMAP_BASEMAP_CACHE_*``; docs/basemap-cache.md).

    Attributes
    ----------
    dir
        Where the MBTiles files are kept, one per layer and set; a relative path is taken
        from the platform's state directory (``ONEMAP_HOME``, ``.onemap``), see
        :meth:`directory`.
    busy_timeout_ms
        How long a cache write waits for another worker process's write to the same file
        before it fails (each write takes milliseconds; the wait is SQLite's busy timeout).
    expire_interval
        Seconds between two looks at the boxes where drawn data changed
        (``tiles.changed_boxes``), whose tiles are then dropped (docs/basemap-cache.md).
    """

    model_config = SettingsConfigDict(env_prefix="ONEMAP_BASEMAP_CACHE_", extra="ignore")

    dir: Path = Path("basemaps")
    busy_timeout_ms: int = Field(default=30_000, ge=100)
    expire_interval: float = Field(default=2.0, ge=0.1)

    def directory(self, home: Path) -> Path:
        """The absolute cache directory, ``dir`` taken from ``home`` when relative."""
        return (home / self.dir).absolute()


class BasemapImagerySettings(BaseSettings):
    """The ``img`` layer (``ONEMAP_BASEMAP_IMAGERY_*``; docs/basemap-cache.md).

    Attributes
    ----------
    path
        The imagery COG (uint8 RGB or grey, any CRS GDAL knows); relative paths are taken
        from the working directory. Empty, there is no imagery and every ``img`` tile is
        blank. The default is the sample city's.
    jpeg_quality
        JPEG quality of the tiles, 1-100.
    resampling
        ``bilinear``, ``cubic``, ``lanczos`` or ``nearest``.
    """

    model_config = SettingsConfigDict(env_prefix="ONEMAP_BASEMAP_IMAGERY_", extra="ignore")

    path: Path | None = Path("data/samples/small/rasters/imagery.tif")
    jpeg_quality: int = Field(default=85, ge=1, le=100)
    resampling: Literal["bilinear", "cubic", "lanczos", "nearest"] = "bilinear"


class ProcessSettings(BaseSettings):
    """OGC API – Processes and its jobs (``ONEMAP_PROCESSES_*``; docs/processes.md).

    Attributes
    ----------
    workers
        Worker processes per server process, so jobs running at once per server process;
        more wait in the queue (durable rows every server process takes from). Each holds
        two database connections.
    max_job_seconds
        A job running longer is stopped (its worker killed, its transaction rolled back)
        and marked failed.
    progress_interval
        Least seconds between two progress writes of one job (a run may report often).
    reap_interval
        Seconds between two looks for running jobs whose worker stopped (marked failed) and,
        while a worker is idle, for queued jobs of other server processes.
    max_execute_bytes
        The largest execute request body (413 above it), in place of
        ``ONEMAP_HTTP_MAX_BODY_BYTES`` for that route: 72 MiB, room for ``max_upload_mb``
        (50) of file in base64 (4/3 of it) and the other inputs.
    keep_days
        Finished jobs (and their outputs) older than this are deleted.
    extra_modules
        Dotted names of further modules of process definitions (each with ``PROCESS``),
        served beside the platform's own.
    public_site_check, public_grid_impact
        Whether callers without a planner's or an admin's key (anonymous, grid workers) may
        run ``site-check`` and ``grid-impact``. Off by default: a site check is stored with
        its red line, and both read the control layers and the grid for anyone who asks
        (the impact gives counts per community only, never a person).
    max_upload_mb
        The largest uploaded file a process takes, in decoded bytes (base64 makes the
        request body about a third bigger, so ``max_execute_bytes`` must allow 4/3 of it):
        a larger one is refused before anything is written.
    max_unpacked_mb
        What an uploaded zip may unpack to, all its entries together, counted as they are
        unpacked (the sizes the archive declares are checked first, never trusted).
    """

    model_config = SettingsConfigDict(env_prefix="ONEMAP_PROCESSES_", extra="ignore")

    workers: int = Field(default=2, ge=1, le=64)
    max_job_seconds: float = Field(default=3600, gt=0)
    progress_interval: float = Field(default=0.5, ge=0)
    reap_interval: float = Field(default=2.0, ge=0.1)
    max_execute_bytes: int = Field(default=75_497_472, ge=1024)
    keep_days: float = Field(default=30, gt=0)
    extra_modules: list[str] = Field(default_factory=list)
    public_site_check: bool = False
    public_grid_impact: bool = False
    max_upload_mb: float = Field(default=50, gt=0)
    max_unpacked_mb: float = Field(default=500, gt=0)


@dataclass(frozen=True)
class Settings:
    """One object per concern, each read from its ``ONEMAP_*`` environment variables."""

    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    replicas: ReplicaSettings = field(default_factory=ReplicaSettings)
    privacy: PrivacySettings = field(default_factory=PrivacySettings)
    grid: GridSettings = field(default_factory=GridSettings)
    plans: PlanSettings = field(default_factory=PlanSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    ogc: OgcSettings = field(default_factory=OgcSettings)
    http: HttpSettings = field(default_factory=HttpSettings)
    auth: AuthSettings = field(default_factory=AuthSettings)
    basemap: BasemapSettings = field(default_factory=BasemapSettings)
    basemap_cache: BasemapCacheSettings = field(default_factory=BasemapCacheSettings)
    basemap_imagery: BasemapImagerySettings = field(default_factory=BasemapImagerySettings)
    processes: ProcessSettings = field(default_factory=ProcessSettings)
    backup: BackupSettings = field(default_factory=BackupSettings)
