"""``onemap keys``: the secret that protects personal data."""

from __future__ import annotations

import typer

from services.cli._common import console, settings

app = typer.Typer(help="Manage the secret key protecting personal data.", no_args_is_help=True)


@app.command()
def init() -> None:
    """Write a new random key file (mode 0600) unless ONEMAP_SECRET_KEY or the file exists."""
    from grid.privacy import generate_key_file

    config = settings().privacy
    if config.secret_key is not None:
        console.print("ONEMAP_SECRET_KEY is set: no key file needed")
        return
    path = config.secret_key_file
    created = generate_key_file(path)
    console.print(f"{'created' if created else 'kept existing'} key file {path} (mode 0600)")
