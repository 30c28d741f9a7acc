"""What every command shares: the console, settings, the engine, the errors users can fix."""

from __future__ import annotations

from collections.abc import Iterator

from rich.console import Console
from sqlalchemy import Engine

from services.settings import Settings

console = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)

_LOST_STATES = ("57P01", "57P02", "57P03")
"""Server states of a session ended by the server (admin shutdown, crash, not accepting)."""


def database_errors() -> tuple[type[Exception], ...]:
    """The database's operational failures (a lost session, a cancelled statement).

    They are not bugs of a command, and their text (SQL, parameters) is not for users.
    """
    import psycopg
    from sqlalchemy.exc import OperationalError

    return (OperationalError, psycopg.OperationalError)


def known_errors() -> tuple[type[Exception], ...]:
    """The exceptions ``main`` prints as one sentence (:func:`describe`) instead of a traceback."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from gis.errors import GisError
    from grid.errors import GridError
    from layers.errors import LayerError

    return (GisError, GridError, LayerError, ValidationError, SettingsError, *database_errors())


def _settings_prefixes() -> dict[str, str]:
    """Each settings class's name → its environment prefix (``DatabaseSettings`` →
    ``ONEMAP_``), for naming the variable a bad value came from."""
    from pydantic_settings import BaseSettings

    found: dict[str, str] = {}
    todo: list[type[BaseSettings]] = [BaseSettings]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        found[cls.__name__] = str(cls.model_config.get("env_prefix") or "")
    return found


def describe_invalid(exc: Exception) -> str:
    """A settings or input validation error as one sentence: for a setting, the environment
    variable, what is wrong and the value given."""
    from pydantic import ValidationError

    if not isinstance(exc, ValidationError):  # SettingsError: a value that is not JSON
        return f"a setting in the environment cannot be read: {_first_line(exc)}"
    prefixes = _settings_prefixes()
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"])
        if exc.title in prefixes and error["loc"]:
            where = f"{prefixes[exc.title]}{str(error['loc'][0]).upper()}" + "".join(
                f"[{p}]" for p in error["loc"][1:]
            )
        parts.append(f"{where}: {error['msg']} (got {error.get('input')!r})")
    kind = "setting" if exc.title in prefixes else exc.title
    return f"bad {kind} " + "; ".join(parts)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc``, the driver error it wraps, and the exceptions it was raised from or during."""
    seen: set[int] = set()
    todo: list[BaseException] = [exc]
    while todo:
        current = todo.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        orig = getattr(current, "orig", None)
        todo.extend(e for e in (orig, current.__cause__, current.__context__) if e is not None)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def database_failure(exc: BaseException) -> tuple[bool, str] | None:
    """``(lost, reason)`` when ``exc`` is an operational failure of the database, else None.

    ``lost`` says the session is gone (terminated, server down, network cut) rather than one
    statement stopped (a timeout, a deadlock); ``reason`` is the server's first line, the
    session's own end preferred over the "connection is closed" that follows it.
    """
    import psycopg
    from sqlalchemy.exc import DBAPIError

    if not isinstance(exc, database_errors()):
        return None
    chain = list(_chain(exc))
    driver = [e for e in chain if isinstance(e, psycopg.Error)]
    ended = [e for e in driver if e.sqlstate in _LOST_STATES or (e.sqlstate or "").startswith("08")]
    lost = (
        bool(ended)
        or any(isinstance(e, psycopg.OperationalError) and e.sqlstate is None for e in driver)
        or any(isinstance(e, DBAPIError) and e.connection_invalidated for e in chain)
    )
    known = ended or [e for e in driver if e.sqlstate] or driver
    return lost, _first_line(known[0] if known else exc)


def describe(exc: BaseException) -> str:
    """The one sentence ``main`` prints for an exception of :func:`known_errors`."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    if isinstance(exc, ValidationError | SettingsError):
        return describe_invalid(exc)
    failure = database_failure(exc)
    if failure is None:
        return str(exc)
    lost, reason = failure
    if lost:
        return (
            f"the database connection was lost ({reason}): the command stopped and its open "
            "transaction was rolled back; run it again once `onemap db status` answers"
        )
    return f"the database stopped the command ({reason}); its open transaction was rolled back"


def print_error(exc: BaseException) -> None:
    """``error:`` and the sentence of :func:`describe` on stderr (its text is not markup)."""
    from rich.markup import escape

    console.print(f"[bold red]error:[/] {escape(describe(exc))}", highlight=False)


def settings() -> Settings:
    return Settings()


def engine(config: Settings) -> Engine:
    """An engine for the configured database, checked to be reachable and to have PostGIS."""
    from gis.engine import create_engine, database_url, server_info

    result = create_engine(database_url(config.database))
    server_info(result)
    return result
