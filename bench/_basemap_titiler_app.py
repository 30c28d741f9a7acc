"""Bench only, run in TiTiler's own virtualenv: the smallest TiTiler that serves COG tiles,
titiler.core's ``TilerFactory`` in a FastAPI app (as TiTiler's documentation builds one).

Tiles: ``/tiles/WebMercatorQuad/{z}/{x}/{y}.jpg?url=<COG>`` (``resampling`` and
``reproject`` choose the read and warp resampling). ``/health`` answers 200 for the launcher.
"""

from fastapi import FastAPI
from titiler.core.factory import TilerFactory

app = FastAPI()
app.include_router(TilerFactory().router)


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
