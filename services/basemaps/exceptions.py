"""WMTS errors as OWS 1.1 ``ExceptionReport`` documents (OGC 07-057r7 §8.3.3, 06-121r3 §8)."""

from __future__ import annotations

from typing import Final
from xml.sax.saxutils import escape, quoteattr

from starlette.responses import Response

STATUS: Final = {
    "MissingParameterValue": 400,
    "InvalidParameterValue": 400,
    "TileOutOfRange": 400,
    "OperationNotSupported": 501,
    "NotAuthorised": 401,
    "NoApplicableCode": 500,
    "ServiceUnavailable": 503,
}


class WmtsError(Exception):
    """A request WMTS refuses: its exception code, the parameter at fault and why."""

    def __init__(self, code: str, message: str, locator: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.locator = locator

    @property
    def status(self) -> int:
        return STATUS.get(self.code, 400)


def exception_report(error: WmtsError, headers: dict[str, str] | None = None) -> Response:
    """The error as the OWS document every WMTS client reads, with the code's HTTP status."""
    locator = f" locator={quoteattr(error.locator)}" if error.locator else ""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ExceptionReport xmlns="http://www.opengis.net/ows/1.1"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        ' xsi:schemaLocation="http://www.opengis.net/ows/1.1'
        ' http://schemas.opengis.net/ows/1.1.0/owsExceptionReport.xsd"'
        ' version="1.0.0" xml:lang="en">\n'
        f'  <Exception exceptionCode="{error.code}"{locator}>\n'
        f"    <ExceptionText>{escape(error.message)}</ExceptionText>\n"
        "  </Exception>\n</ExceptionReport>\n"
    )
    return Response(body, error.status, headers=headers, media_type="application/xml")
