"""Meta's error payloads: synchronous `{"error": …}` answers and `errors[]` of failed statuses."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.responses import JSONResponse

from centralino.simulator.ids import fbtrace_id

ERROR_CODES_URL = "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"

TITLES: dict[int, str] = {
    1: "API Unknown",
    2: "Service temporarily unavailable",
    100: "Invalid parameter",
    190: "Invalid OAuth access token - Cannot parse access token",
    2635: "You are calling a deprecated version of the Graph API",
    130429: "Rate limit hit",
    131000: "Something went wrong",
    131008: "Required parameter is missing",
    131009: "Parameter value is not valid",
    131016: "Service unavailable",
    131026: "Message undeliverable",
    131031: "Business Account locked",
    131042: "Business eligibility payment issue",
    131047: "Re-engagement message",
    131048: "Spam rate limit hit",
    131049: "This message was not delivered to maintain healthy ecosystem engagement.",
    131050: "User has stopped marketing messages",
    131051: "Unsupported message type",
    131053: "Media upload error",
    131056: "(Business Account, Consumer Account) pair rate limit hit",
    131057: "Account in maintenance mode",
    132000: "Number of parameters does not match the expected number of params",
    132001: "Template name does not exist in the translation",
    132005: "Translated text too long",
    132007: "Template Format Character Policy Violated",
    132012: "Parameter format does not match format in the created template",
    132015: "Template is Paused",
    132016: "Template is Disabled",
    133010: "Phone number Not Registered",
}

# Codes Meta answers with HTTP 500 (server-side trouble); everything else is a 4xx.
SERVER_SIDE = frozenset({1, 2, 131000, 131016})


def title_of(code: int) -> str:
    return TITLES.get(code, "Something went wrong")


def param(path: Sequence[str | int]) -> str:
    """Meta names nested fields as `interactive['action']['buttons'][0]['reply']['title']`."""
    head, *rest = path
    return str(head) + "".join(f"[{p}]" if isinstance(p, int) else f"['{p}']" for p in rest)


class GraphError(Exception):
    """A Graph API error; `response()` renders it exactly as Meta does."""

    def __init__(self, code: int, details: str | None = None, *, status: int | None = None,
                 title: str | None = None, error_type: str = "OAuthException", subcode: int | None = None,
                 user_title: str | None = None, user_message: str | None = None) -> None:
        self.code = code
        self.title = title or title_of(code)
        self.details = details
        self.status = status or (500 if code in SERVER_SIDE else 401 if code == 190 else 400)
        self.error_type = error_type
        self.subcode = subcode
        self.user_title = user_title
        self.user_message = user_message
        super().__init__(f"(#{code}) {self.title}: {details}")

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"message": f"(#{self.code}) {self.title}", "type": self.error_type,
                                 "code": self.code}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.user_title:
            error["is_transient"] = False
            error["error_user_title"] = self.user_title
            error["error_user_msg"] = self.user_message or self.details or self.title
        if self.details:
            error["error_data"] = {"messaging_product": "whatsapp", "details": self.details}
        error["fbtrace_id"] = fbtrace_id()
        return {"error": error}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status)


def status_error(code: int, details: str | None = None) -> dict[str, Any]:
    """One entry of a failed status' `errors[]`."""
    title = title_of(code)
    return {"code": code, "title": title, "message": title,
            "error_data": {"details": details or title}, "href": ERROR_CODES_URL}


def missing(*path: str | int) -> GraphError:
    return GraphError(131008, f"The parameter {param(path)} is required.")


def invalid(path: Sequence[str | int], why: str) -> GraphError:
    return GraphError(131009, f"Param {param(path)} {why}")


def unexpected(key: str, *path: str | int) -> GraphError:
    where = f' on param "{param(path)}"' if path else ""
    return GraphError(100, f'Unexpected key "{key}"{where}.')


def unknown_object(object_id: str, method: str = "get") -> GraphError:
    return GraphError(100, f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be "
                           "loaded due to missing permissions, or does not support this operation.",
                      error_type="GraphMethodException", subcode=33)


def bad_token() -> GraphError:
    return GraphError(190, "Error validating access token: the session is invalid or the token is unknown.")
