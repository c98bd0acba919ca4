"""Every API error in one shape, mapped in one place:
``{"error": {"code": ..., "message": ..., "fields": {...}}}`` (``fields`` only for validation).
Domain errors map by family: invalid input 400 (``invalid`` or the error's own code), forbidden
403, not found 404, conflicts 409.

A domain error's message and fields are answered in English, as the contract writes them,
whatever the request's Accept-Language (the portal shows the same errors translated). DRF's own
messages (a missing field, a missing key) follow Accept-Language, as they always have."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied
from django.db import DataError
from django.http import Http404
from django.utils import translation
from django.utils.functional import Promise
from rest_framework import exceptions, status
from rest_framework.response import Response

from members.errors import Conflict, Forbidden, InvalidRequest, LoyaltyError, NotFound

from .authentication import WrongKeysThrottled

logger = logging.getLogger(__name__)


def error_response(code: str, message: str, http_status: int, fields: dict | None = None) -> Response:
    body: dict = {"code": code, "message": message}
    if fields:
        body["fields"] = fields
    return Response({"error": body}, status=http_status)


def _flatten(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        return {
            str(name): [str(m) for m in (msgs if isinstance(msgs, list) else [msgs])]
            if not isinstance(msgs, dict)
            else [str(msgs)]
            for name, msgs in detail.items()
        }
    if isinstance(detail, list):
        return {"non_field_errors": [str(m) for m in detail]}
    return {"non_field_errors": [str(detail)]}


def _worked_out(value):
    """``value`` with every lazy translation in it made a string now."""
    if isinstance(value, Promise):
        return str(value)
    if isinstance(value, dict):
        return {name: _worked_out(item) for name, item in value.items()}
    if isinstance(value, list | tuple):
        return [_worked_out(item) for item in value]
    return value


def _domain_error_response(exc: LoyaltyError) -> Response:
    with translation.override("en"):
        message, fields = _worked_out(exc.message), _worked_out(exc.fields)
    if isinstance(exc, NotFound):
        return error_response(exc.code, message, status.HTTP_404_NOT_FOUND)
    if isinstance(exc, Conflict):
        return error_response(exc.code, message, status.HTTP_409_CONFLICT)
    if isinstance(exc, Forbidden):
        return error_response(exc.code, message, status.HTTP_403_FORBIDDEN)
    if not isinstance(exc, InvalidRequest):
        logger.warning("Unmapped domain error %r answered as invalid", exc)
        return error_response("invalid", message, status.HTTP_400_BAD_REQUEST, fields)
    return error_response(exc.code, message, status.HTTP_400_BAD_REQUEST, fields)


def exception_handler(exc, context) -> Response | None:
    if isinstance(exc, LoyaltyError):
        return _domain_error_response(exc)
    if isinstance(exc, DataError | OverflowError):
        # A value the columns cannot hold (a number past 64 bits) that validation let through:
        # the input is at fault, and the service's transaction has rolled back.
        logger.warning("Input out of the database's range answered as invalid: %s", exc)
        return error_response("invalid", "A value is out of range.", status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        return error_response("not_found", "Not found.", status.HTTP_404_NOT_FOUND)
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    if isinstance(exc, exceptions.ValidationError):
        return error_response(
            "invalid", "The request is not valid.", status.HTTP_400_BAD_REQUEST, _flatten(exc.detail)
        )
    if isinstance(exc, exceptions.ParseError):
        return error_response("invalid", str(exc.detail), status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        response = error_response("unauthenticated", str(exc.detail), status.HTTP_401_UNAUTHORIZED)
        response["WWW-Authenticate"] = "Bearer"
        return response
    if isinstance(exc, exceptions.Throttled):
        wrong_keys = isinstance(exc, WrongKeysThrottled)
        message = WrongKeysThrottled.default_detail if wrong_keys else "Too many requests for this key."
        response = error_response("throttled", message, status.HTTP_429_TOO_MANY_REQUESTS)
        if exc.wait:
            response["Retry-After"] = str(max(1, int(exc.wait)))
        return response
    if isinstance(exc, exceptions.NotFound):
        return error_response("not_found", str(exc.detail), status.HTTP_404_NOT_FOUND)
    if isinstance(exc, exceptions.MethodNotAllowed):
        return error_response("method_not_allowed", str(exc.detail), status.HTTP_405_METHOD_NOT_ALLOWED)
    if isinstance(exc, exceptions.NotAcceptable):
        return error_response("not_acceptable", str(exc.detail), status.HTTP_406_NOT_ACCEPTABLE)
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return error_response(
            "unsupported_media_type", str(exc.detail), status.HTTP_415_UNSUPPORTED_MEDIA_TYPE
        )
    if isinstance(exc, exceptions.PermissionDenied):
        return error_response("forbidden", str(exc.detail), status.HTTP_403_FORBIDDEN)
    if isinstance(exc, exceptions.APIException):
        return error_response("error", str(exc.detail), exc.status_code)
    return None
