"""Grid governance over HTTP: the routes grid workers and operators call (``/grid``)."""

from services.grid_http.sheets import sheet_routes

__all__ = ["sheet_routes"]
