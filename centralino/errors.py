"""One error base: a stable code, an HTTP status, a message, and the field that was wrong."""

from __future__ import annotations

from typing import Any


class CentralinoError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None,
                 status: int | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code
        if status:
            self.status = status
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        if self.details:
            body["details"] = self.details
        return {"error": body}


class InvalidInput(CentralinoError):
    code = "invalid_input"
    status = 400


class Unauthenticated(CentralinoError):
    code = "unauthenticated"
    status = 401


class Forbidden(CentralinoError):
    code = "forbidden"
    status = 403


class NotFound(CentralinoError):
    code = "not_found"
    status = 404


class Conflict(CentralinoError):
    code = "conflict"
    status = 409


class TooManyRequests(CentralinoError):
    """Rendered with a Retry-After header (whole seconds)."""

    code = "too_many_requests"
    status = 429

    def __init__(self, message: str, *, retry_after_s: int, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after_s = retry_after_s
