"""Copy the front-end files the HTML pages use from ``node_modules/`` into the package.

``make vendor`` runs ``npm ci --ignore-scripts`` (the versions ``package-lock.json`` pins)
and then ``python -m services.web.vendor``, which copies exactly the files of
:data:`ASSETS` into ``services/web/static/vendor/<package>/`` and writes the manifest
(file → package, version, sha256). The copies are committed: the pages work from a clean
clone with no npm, and nothing is fetched at run time. ``--check`` only verifies them.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from services.web.assets import MANIFEST, problems, sha256, vendor_dir


@dataclass(frozen=True)
class Asset:
    """``source`` inside the npm ``package``, copied to ``<package>/<target>``."""

    package: str
    source: str
    target: str


LEAFLET_IMAGES: Final = ("layers.png", "layers-2x.png", "marker-icon.png", "marker-icon-2x.png",
                         "marker-shadow.png")  # fmt: skip
"""Linked from leaflet.css (layer control, the default marker of point features)."""
SOURCES: Final[dict[str, tuple[str, ...]]] = {
    "bootstrap": ("dist/css/bootstrap.min.css", "LICENSE"),
    "leaflet": ("dist/leaflet.js", "dist/leaflet.css",
                *(f"dist/images/{name}" for name in LEAFLET_IMAGES), "LICENSE"),
    "leaflet.markercluster": ("dist/leaflet.markercluster.js", "dist/MarkerCluster.css",
                              "dist/MarkerCluster.Default.css", "MIT-LICENCE.txt"),
    "leaflet.vectorgrid": ("dist/Leaflet.VectorGrid.bundled.js", "README.md"),  # licence in README
    "polygon-clipping": ("dist/polygon-clipping.umd.js", "LICENSE.md"),  # bundles its deps
    "proj4": ("dist/proj4.js", "LICENSE.md"),
    "swagger-ui-dist": ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-16x16.png",
                        "favicon-32x32.png", "LICENSE", "NOTICE"),
}  # fmt: skip
ASSETS: Final[tuple[Asset, ...]] = tuple(
    Asset(package, source, source.removeprefix("dist/"))
    for package, sources in SOURCES.items()
    for source in sources
)
"""Every file a page loads (and each package's licence): nothing else is copied."""


def pinned(package_json: Path) -> dict[str, str]:
    """The exact versions ``package.json`` pins (a range is refused: pins must be exact)."""
    dependencies: dict[str, str] = json.loads(package_json.read_text(encoding="utf-8"))[
        "dependencies"
    ]
    for name, version in dependencies.items():
        if not version[:1].isdigit():
            raise SystemExit(f"package.json: {name} {version!r} is not an exact version")
    return dependencies


def installed_version(node_modules: Path, package: str) -> str:
    meta = node_modules / package / "package.json"
    if not meta.is_file():
        raise SystemExit(f"{meta} is missing: run `npm ci --ignore-scripts` first")
    return str(json.loads(meta.read_text(encoding="utf-8"))["version"])


def vendor(node_modules: Path, package_json: Path, target: Path) -> dict[str, dict[str, str]]:
    """Copy :data:`ASSETS` into ``target`` (replacing what was there); returns the manifest."""
    pins = pinned(package_json)
    versions = {name: installed_version(node_modules, name) for name in pins}
    for name, version in versions.items():
        if version != pins[name]:
            raise SystemExit(
                f"node_modules has {name}@{version}, package.json pins {pins[name]}: run npm ci"
            )
    unused = set(pins) - {asset.package for asset in ASSETS}
    if unused:
        raise SystemExit(f"package.json pins packages no page uses: {sorted(unused)}")
    if target.exists():
        shutil.rmtree(target)
    files: dict[str, dict[str, str]] = {}
    for asset in ASSETS:
        source = node_modules / asset.package / asset.source
        destination = target / asset.package / asset.target
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, destination)
        files[f"{asset.package}/{asset.target}"] = {
            "package": asset.package,
            "version": versions[asset.package],
            "source": asset.source,
            "sha256": sha256(destination),
        }
    document = {
        "about": "Written by `python -m services.web.vendor` (make vendor); do not edit.",
        "files": dict(sorted(files.items())),
    }
    (target / MANIFEST).write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    return files


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.web.vendor", description=__doc__)
    parser.add_argument("--node-modules", type=Path, default=Path("node_modules"))
    parser.add_argument("--package-json", type=Path, default=Path("package.json"))
    parser.add_argument("--target", type=Path, default=None, help="default: the package's")
    parser.add_argument("--check", action="store_true", help="only verify against the manifest")
    args = parser.parse_args(argv)
    target: Path = args.target or vendor_dir()
    if not args.check:
        files = vendor(args.node_modules, args.package_json, target)
        size = sum((target / path).stat().st_size for path in files)
        print(f"vendored {len(files)} files ({size / 1e6:.2f} MB) into {target}")
    found = problems(target)
    for problem in found:
        print(problem, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
