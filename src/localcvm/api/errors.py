"""Rendering of errors into the API 3.0 envelope."""

from __future__ import annotations

import logging

from ..services import errors

log = logging.getLogger("localcvm.api")


def error_body(exc: BaseException, request_id: str) -> dict:
    """The ``Response`` member for an exception; unknown ones become InternalError."""
    if isinstance(exc, errors.ApiError):
        return {"Error": {"Code": exc.code, "Message": exc.message}, "RequestId": request_id}
    log.error("unhandled error in request %s", request_id, exc_info=exc)
    return {
        "Error": {
            "Code": "InternalError",
            "Message": f"An internal error occurred; the server log has the details under RequestId {request_id}.",
        },
        "RequestId": request_id,
    }
