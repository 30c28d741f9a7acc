"""``python -m services.cli`` is ``onemap``."""

from services.cli import main

main()
