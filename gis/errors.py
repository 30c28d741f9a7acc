"""The root of every error the ``gis`` package raises on purpose."""


class GisError(Exception):
    """A spatial-foundation error with a message meant for the person at the keyboard."""


class DatabaseError(GisError):
    """The database cannot be reached, started or used; the message says what to do."""
