"""Grid governance: 人进户、户进房、房进格、格进图 — admin areas, cells, buildings, houses,
households, persons and grid workers, with their codes, links and protected personal data."""

from grid.errors import GridError

__all__ = ["GridError"]
