"""The only module that builds an app at import: for ``uvicorn services.asgi:app``."""

from services.app import create_app

app = create_app()
