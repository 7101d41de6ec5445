"""Rendering of errors into the API 3.0 envelope."""

from __future__ import annotations

import logging

from ..services import errors
from .error_codes import ErrorCodes

log = logging.getLogger("localcvm.api")


def error_body(
    exc: BaseException, request_id: str, *, product: str | None = None, action: str | None = None,
    strict: bool = False,
) -> dict:
    """The ``Response`` member for an exception; unknown ones become InternalError.

    With ``strict`` (the strict error mode), a code that ``action`` of ``product`` does not
    document becomes InternalError naming the code and the documented alternatives.
    """
    if isinstance(exc, errors.ApiError):
        codes = ErrorCodes.builtin()
        code, message = exc.code_for(codes.allowed(product, action)), exc.message
        verdict = codes.check(product, action, code) if strict else None
        if verdict is not None:
            message = verdict.message(message)
            log.error("request %s: %s", request_id, message)
            code = "InternalError"
        return {"Error": {"Code": code, "Message": message}, "RequestId": request_id}
    log.error("unhandled error in request %s", request_id, exc_info=exc)
    return {
        "Error": {
            "Code": "InternalError",
            "Message": f"An internal error occurred; the server log has the details under RequestId {request_id}.",
        },
        "RequestId": request_id,
    }
