"""Sending an approved template into a conversation: the stored template of the conversation's WhatsApp
account, in the customer's language, with its parameters checked before anything is queued.

The message goes out through OutboundService.do_send, so every check there (consent, uploads,
idempotency, the outbox in the message's transaction) applies to every template send. `render_for` is
the pure part, reused by campaigns for many recipients: the stored template is parsed once.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, select

from centralino.app.channel_directory import ChannelDirectory
from centralino.app.outbound import OutboundService, Queued
from centralino.domain.outbound import Media, TemplateMessage
from centralino.domain.template_lint import LintProblem, lint
from centralino.domain.template_params import ParsedTemplate, outline, parse, render
from centralino.errors import Conflict, InvalidInput, NotFound
from centralino.events.bus import EventBus
from centralino.storage import conversations as conversation_repo
from centralino.storage import idempotency as idempotency_repo
from centralino.storage import templates as template_repo
from centralino.storage.tables import contacts

SENDABLE = "approved"  # Meta sends only APPROVED templates (132001 / 132015 paused / 132016 disabled)
_WHY = {"paused": "Meta paused it for its quality; it can be sent again once Meta unpauses it",
        "disabled": "Meta disabled it for its quality; edit it or create a new one",
        "pending": "Meta is still reviewing it", "rejected": "Meta rejected it; fix it and submit it again",
        "draft": "it was never submitted to Meta", "flagged": "its quality is low: it may be paused soon"}


class TemplateNotFound(NotFound):
    code = "template.not_found"


class TemplateNotSendable(Conflict):
    code = "template.not_sendable"


@dataclass(frozen=True)
class TemplateRequest:
    name: str
    language: str | None = None  # None: the customer's language, its base, then the configured default
    parameters: Mapping[str, Any] = field(default_factory=dict)


def pick_language(available: Sequence[str], explicit: str | None, contact_language: str | None,
                  default: str | None) -> str | None:
    """The language to send in: the one asked for, else the customer's, its base (en_US -> en), the default."""
    if explicit:
        return explicit if explicit in available else None
    wanted = [contact_language, contact_language.split("_")[0] if contact_language else None, default]
    return next((lang for lang in wanted if lang and lang in available), None)


# --- rendering, pure ------------------------------------------------------------------------------------

_parsed: dict[tuple[Any, ...], ParsedTemplate] = {}
_parsed_lock = threading.Lock()
_PARSED_MAX = 512


def prepare(template_row: Mapping[str, Any]) -> ParsedTemplate:
    """The stored template, parsed once per version (id and updated_at) and reused."""
    key = (template_row.get("id"), template_row.get("updated_at"), template_row["name"], template_row["language"])
    found = _parsed.get(key) if key[0] is not None else None
    if found is None:
        found = parse(str(template_row["name"]), str(template_row["language"]), str(template_row["category"]),
                      str(template_row.get("parameter_format") or "positional"), template_row["components"] or [],
                      template_id=template_row.get("id"))
        if key[0] is not None:
            with _parsed_lock:
                if len(_parsed) >= _PARSED_MAX:
                    _parsed.clear()
                _parsed[key] = found
    return found


def render_for(template_row: Mapping[str, Any], params: Mapping[str, Any] | None,
               context: Mapping[str, Any] | None = None) -> tuple[tuple[dict[str, Any], ...], str, Media | None]:
    """(Meta's components, the preview, the uploaded header file) for one recipient; raises InvalidInput (422)
    naming the parameter. Checks parameters only: whether the template may be sent is check_sendable's."""
    rendered = render(prepare(template_row), params, context)
    return rendered.components, rendered.preview, rendered.header_media


def message_for(template_row: Mapping[str, Any], params: Mapping[str, Any] | None,
                context: Mapping[str, Any] | None = None) -> TemplateMessage:
    parsed = prepare(template_row)
    rendered = render(parsed, params, context)
    return TemplateMessage(name=parsed.name, language=parsed.language, category=parsed.category,
                           components=rendered.components, preview=rendered.preview, template_id=parsed.template_id,
                           header_media=rendered.header_media)


def check_sendable(template_row: Mapping[str, Any]) -> None:
    status = str(template_row["status"])
    if status == SENDABLE:
        return
    reason = template_row.get("status_reason")
    said = f" (Meta's reason: {reason})" if reason and reason.upper() != "NONE" else ""
    raise TemplateNotSendable(
        f"template {template_row['name']} ({template_row['language']}) is {status}{said}: only approved templates "
        f"can be sent; {_WHY.get(status, 'wait until Meta approves it')}",
        field="name", template_status=status, reason=reason)


@dataclass(frozen=True)
class Preview:
    text: str  # what the customer will see; with the variables as written when values are missing or wrong
    components: tuple[dict[str, Any], ...] | None  # Meta's send components, when the parameters fit
    problems: tuple[LintProblem, ...]  # the linter's (unsaved definitions) and the parameters' problems


def preview(template_row: Mapping[str, Any], params: Mapping[str, Any] | None,
            context: Mapping[str, Any] | None = None, *, definition: bool = False) -> Preview:
    """The builder's and the composer's live preview: never raises for the template's or parameters' faults."""
    problems = [*lint(template_row)] if definition else []
    try:
        parsed = prepare(template_row)
    except (TypeError, ValueError, KeyError, AttributeError):
        return Preview("", None, tuple(problems))  # too malformed to show; the linter says why
    if params is None:
        return Preview(outline(parsed), None, tuple(problems))
    try:
        rendered = render(parsed, params, context)
    except InvalidInput as exc:
        problems.append(LintProblem(exc.field or "parameters", exc.code, exc.message))
        return Preview(outline(parsed, params, context), None, tuple(problems))
    return Preview(rendered.preview, rendered.components, tuple(problems))


# --- the use case ---------------------------------------------------------------------------------------

class TemplateSender:
    def __init__(self, engine: Engine, directory: ChannelDirectory, bus: EventBus | None,
                 outbound: OutboundService, default_language: str | None = None) -> None:
        self.engine = engine
        self.directory = directory
        self.bus = bus
        self.outbound = outbound
        self.default_language = default_language

    def do_send(self, conversation_id: int, request: TemplateRequest, *, origin: str,
                idempotency_key: str | None = None, context: Mapping[str, Any] | None = None) -> Queued:
        """Queue the template for the conversation's customer (no 24-hour window needed)."""
        try:
            with self.engine.connect() as conn:
                message = self.check_send(conn, conversation_id, request, context)
        except (NotFound, Conflict, InvalidInput):
            replay = self._replay(conversation_id, idempotency_key, origin)
            if replay is None:
                raise
            return replay  # a repeat of a send that went through: the template changed since, not the request
        return self.outbound.do_send(conversation_id, message, idempotency_key=idempotency_key, origin=origin)

    def check_send(self, conn: Connection, conversation_id: int, request: TemplateRequest,
                   context: Mapping[str, Any] | None = None) -> TemplateMessage:
        """The TemplateMessage this request makes; raises template.not_found (404), template.not_sendable
        (409) or a parameter error (422, naming the parameter)."""
        conversation = conversation_repo.get(conn, conversation_id)
        if conversation is None:
            raise NotFound(f"no conversation {conversation_id}", field="conversation_id")
        contact = dict(conn.execute(select(contacts).where(contacts.c.id == conversation["contact_id"]))
                       .mappings().one())
        row = self.find_template(conn, int(conversation["channel_id"]), request, contact["language"])
        check_sendable(row)
        return message_for(row, request.parameters, self.context(conversation, contact, context))

    def find_template(self, conn: Connection, channel_id: int, request: TemplateRequest,
                      contact_language: str | None) -> dict[str, Any]:
        channel = self.directory.by_id(channel_id)
        if channel is None or not channel.account_id:
            raise TemplateNotFound(f"channel {channel_id} has no WhatsApp business account to send templates from",
                                   field="name")
        rows = {r["language"]: r for r in template_repo.languages_of(conn, channel.account_id, request.name)}
        language = pick_language(list(rows), request.language, contact_language, self.default_language)
        if language is None:
            where = f"in {request.language}" if request.language else (
                f"in the customer's language ({contact_language or 'unknown'}) "
                f"or {self.default_language or 'a default'}")
            have = f"; it exists in {', '.join(sorted(rows))}" if rows else ""
            raise TemplateNotFound(f"no template {request.name} {where} for this WhatsApp account{have}",
                                   field="language" if rows else "name")
        return rows[language]

    @staticmethod
    def context(conversation: Mapping[str, Any], contact: Mapping[str, Any],
                extra: Mapping[str, Any] | None) -> dict[str, Any]:
        """What {"from": …} parameters read: contact.*, case.* (the conversation) and the caller's payload."""
        built: dict[str, Any] = {
            "contact": {"id": contact["id"], "name": contact["display_name"] or contact["profile_name"],
                        "profile_name": contact["profile_name"], "language": contact["language"],
                        "attributes": dict(contact["attributes"] or {})},
            "case": {k: conversation[k] for k in ("id", "status", "department_id", "assignee_user_id",
                                                  "channel_id") if k in conversation},
        }
        for key, value in (extra or {}).items():
            if isinstance(value, Mapping) and isinstance(built.get(key), dict):
                built[key] = {**built[key], **value}
            else:
                built[key] = value
        return built

    def _replay(self, conversation_id: int, idempotency_key: str | None, origin: str) -> Queued | None:
        if idempotency_key is None:
            return None
        with self.engine.connect() as conn:
            message_id = idempotency_repo.message_for(conn, origin, conversation_id, idempotency_key)
        return Queued(message_id, conversation_id, replayed=True) if message_id is not None else None
