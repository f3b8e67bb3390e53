"""Customer-facing case updates (docs/automation.md, "Customer updates"):

- when a case changes status, the customer is told on their channel if the case type's setting names that
  status: the text in their language inside the 24-hour window, else the configured approved utility
  template with the case number and status as its body parameters; consent checked. In the status change's
  own transaction (do_send_within), so the message and the change commit together; a refusal is recorded as
  a skipped update with its reason and never undoes the change;
- the customer asks for a case's status by writing its number ("C-2026-000123", "pratica 123", "case 123"):
  only a case of THAT contact is ever reported; another customer's number gets the same answer as a number
  that does not exist. Handled on a background thread after the message commits (off the inbound hot path).

`status_answer` is the part the bot can call directly.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, select

from centralino.app.background import Background
from centralino.app.case_types import ensure_default_types
from centralino.app.customer_notify import send_to_customer
from centralino.app.outbound import OutboundService
from centralino.app.template_send import TemplateRequest, TemplateSender
from centralino.app.unit_of_work import UnitOfWork, unit_of_work
from centralino.domain.automation import pick_text
from centralino.domain.outbound import Text
from centralino.errors import CentralinoError, InvalidInput
from centralino.events.bus import Event, EventBus
from centralino.storage import automation as repo
from centralino.storage import tables_cases
from centralino.storage.tables import contacts, messages
from centralino.storage.tables_templates import templates

log = logging.getLogger(__name__)

ORIGIN = "case_updates"
CASES_TTL_S = 5.0
FULL_NUMBER = re.compile(r"\bC-(\d{4})-(\d{1,9})\b", re.IGNORECASE)
# "pratica 123", "case no. 123" — not "in case 2 …"
SHORT_NUMBER = re.compile(r"(?<!\bin )\b(?:pratica|caso|case|ticket)\s*(?:n\.?|nr\.?|no\.?|numero|number|#)?\s*"
                          r"(\d{1,9})\b", re.IGNORECASE)
STATUS_LABELS: dict[str, dict[str, str]] = {
    "new": {"it": "nuova", "en": "new"},
    "in_progress": {"it": "in lavorazione", "en": "in progress"},
    "waiting_customer": {"it": "in attesa di un suo riscontro", "en": "waiting for your reply"},
    "resolved": {"it": "risolta", "en": "resolved"},
    "closed": {"it": "chiusa", "en": "closed"},
    "rejected": {"it": "respinta", "en": "rejected"},
}
DEFAULT_TEXT = {"it": "Aggiornamento sulla sua pratica {number}: ora è {status}.",
                "en": "Update on your case {number}: it is now {status}."}
ANSWER = {"it": "La pratica {number} ({type}) è {status}.", "en": "Case {number} ({type}) is {status}."}
NOT_FOUND = {"it": "Non trovo la pratica {asked} tra quelle associate a questo numero. Controlli il numero, "
                   "per favore.",
             "en": "I cannot find case {asked} among the cases linked to this number. Please check the number."}


def _utcnow() -> datetime:
    return datetime.now(UTC)


def language_of(value: str | None) -> str:
    base = (value or "it").split("_")[0].split("-")[0].lower()
    return base if base in ("it", "en") else "en"


def status_label(status: str, language: str) -> str:
    return STATUS_LABELS.get(status, {}).get(language) or status.replace("_", " ")


def asked_number(text: str) -> tuple[int | None, int] | None:
    """(year or None, sequence) of a case number written in `text`, or None."""
    full = FULL_NUMBER.search(text)
    if full:
        return int(full.group(1)), int(full.group(2))
    short = SHORT_NUMBER.search(text)
    return (None, int(short.group(1))) if short else None


def status_answer(conn: Connection, contact_id: int, text: str, language: str | None) -> tuple[str, Any] | None:
    """The reply to a customer asking about a case in `text` (None: they did not name one, or have no case at
    all), with the case row when it is theirs. Only the contact's own cases (and those of contacts merged into
    it) are searched: another customer's number is answered exactly as one that does not exist."""
    asked = asked_number(text)
    cases = getattr(tables_cases, "cases", None)
    if asked is None or cases is None:
        return None
    year, sequence = asked
    lang = language_of(language)
    suffix = f"-{sequence:06d}"
    owners = select(contacts.c.id).where((contacts.c.id == contact_id) | (contacts.c.merged_into_id == contact_id))
    stmt = (select(cases.c.id, cases.c.number, cases.c.status, tables_cases.case_types.c.definition)
            .join(tables_cases.case_types, tables_cases.case_types.c.id == cases.c.case_type_id)
            .where(cases.c.contact_id.in_(owners), cases.c.number.like(f"C-{year if year else '%'}{suffix}"))
            .order_by(cases.c.created_at.desc()).limit(1))
    row = conn.execute(stmt).mappings().first()
    if row is None:
        if conn.execute(select(cases.c.id).where(cases.c.contact_id.in_(owners)).limit(1)).first() is None:
            return None  # a customer with no case at all: "case 2" was not a question for us
        written = f"C-{year}-{sequence:06d}" if year else str(sequence)
        return NOT_FOUND[lang].format(asked=written), None
    names = dict((row["definition"] or {}).get("name") or {})
    type_name = names.get(lang) or next(iter(names.values()), "")
    return ANSWER[lang].format(number=row["number"], type=type_name, status=status_label(row["status"], lang)), row


class CaseUpdates:
    def __init__(self, engine: Engine, bus: EventBus, outbound: OutboundService, templates: TemplateSender | None, *,
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self.engine = engine
        self.bus = bus
        self.outbound = outbound
        self.templates = templates
        self.clock = clock
        self.background = Background("case-status-queries", self._answer_many)
        self._has_cases = False  # once a case exists, it stays so (cases are never deleted)
        self._checked_at = -CASES_TTL_S

    def install(self) -> None:
        self.bus.subscribe_in_transaction("case.status_changed", self.on_status_changed)
        self.bus.subscribe("message.received", self.on_received)
        self.bus.subscribe("case.created", self._case_created)

    # --- settings ---------------------------------------------------------------------------------------

    def settings(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return repo.all_case_update_settings(conn)

    def do_save_setting(self, case_type: str, data: Mapping[str, Any]) -> dict[str, Any]:
        statuses = data.get("statuses", [])
        if not isinstance(statuses, list) or not all(isinstance(s, str) and s for s in statuses):
            raise InvalidInput("statuses: a list of status keys", field="statuses")
        texts = data.get("texts", {})
        if not isinstance(texts, Mapping) or not all(
                isinstance(v, Mapping) and all(isinstance(t, str) and t.strip() for t in v.values())
                for v in texts.values()):
            raise InvalidInput('texts: {"<status>": {"it": "…", "en": "…"}}', field="texts")
        for key in ("template_name", "template_language"):
            if data.get(key) is not None and not isinstance(data.get(key), str):
                raise InvalidInput(f"{key}: a string", field=key)
        with unit_of_work(self.engine, self.bus) as uow:
            ensure_default_types(uow.conn, self.clock())
            definition = uow.conn.execute(select(tables_cases.case_types.c.definition)
                                          .where(tables_cases.case_types.c.key == case_type)).scalar()
            if definition is None:
                raise InvalidInput(f"no case type {case_type!r}", field="case_type")
            known = list((definition.get("workflow") or {}).get("statuses") or [])
            for index, status in enumerate(statuses):
                if status not in known:
                    raise InvalidInput(f"{status!r} is not a status of {case_type}; known: {', '.join(known)}",
                                       field=f"statuses[{index}]")
            if data.get("template_name"):
                self._check_template(uow.conn, str(data["template_name"]), data.get("template_language"))
            values = {"case_type": case_type, "statuses": statuses, "texts": dict(texts),
                      "template_name": data.get("template_name") or None,
                      "template_language": data.get("template_language") or None,
                      "enabled": bool(data.get("enabled", True)), "updated_at": self.clock()}
            repo.save_case_update_setting(uow.conn, values)
            uow.emit("case_updates.setting_saved", case_type=case_type)
        return values

    def updates_of(self, case_id: int) -> list[dict[str, Any]]:
        """What the customer was told about the case, or why not: status changes and status questions, oldest
        first."""
        with self.engine.connect() as conn:
            return repo.case_updates_of(conn, case_id)

    @staticmethod
    def _check_template(conn: Connection, name: str, language: str | None) -> None:
        """The template exists (in that language, if one is named) and is a utility template: a status update is
        a utility message for the consent ledger, and Meta bills and reviews it as one."""
        t = templates.c
        found = conn.execute(select(t.language, t.category).where(t.name == name)).all()
        if not found:
            raise InvalidInput(f"no template {name!r}", field="template_name", code="template.unknown")
        if language and language not in {r.language for r in found}:
            raise InvalidInput(f"template {name!r} has no {language!r} version", field="template_language",
                               code="template.language_unknown")
        if any(str(r.category).lower() != "utility" for r in found if not language or r.language == language):
            raise InvalidInput(f"template {name!r} is not a utility template", field="template_name",
                               code="template.not_utility")

    # --- a case changed status ----------------------------------------------------------------------------

    def on_status_changed(self, uow: UnitOfWork, event: Event) -> None:
        p = event.payload
        cases = getattr(tables_cases, "cases", None)
        if cases is None or p.get("contact_id") is None or p.get("case_id") is None:
            return
        conn = uow.conn
        case = conn.execute(select(cases.c.id, cases.c.number, cases.c.status, tables_cases.case_types.c.key)
                            .join(tables_cases.case_types, tables_cases.case_types.c.id == cases.c.case_type_id)
                            .where(cases.c.id == int(p["case_id"]))).mappings().first()
        if case is None:
            return
        setting = repo.case_update_setting(conn, str(case["key"]))
        status = str(p.get("to") or case["status"])
        if setting is None or not setting["enabled"] or status not in (setting["statuses"] or []):
            return
        contact_id = int(p["contact_id"])
        language = language_of(conn.execute(select(contacts.c.language).where(contacts.c.id == contact_id))
                               .scalar())
        label = status_label(status, language)
        texts = (setting["texts"] or {}).get(status) or DEFAULT_TEXT
        text = pick_text(texts, language).replace("{number}", str(case["number"])).replace("{status}", label)
        template = (TemplateRequest(str(setting["template_name"]), setting["template_language"],
                                    {"body": [str(case["number"]), label]}) if setting["template_name"] else None)
        now = self.clock()
        row = {"case_id": int(case["id"]), "contact_id": contact_id, "kind": "status_changed", "status": status,
               "created_at": now}
        mark = len(uow.pending)
        try:
            with conn.begin_nested():  # a refusal or a fault of ours never undoes the status change
                if self.templates is None:
                    raise InvalidInput("template sending is not configured", code="automation.no_templates")
                sent = send_to_customer(uow, self.outbound, self.templates, contact_id, text=text, template=template,
                                        origin=ORIGIN, now=now)
        except Exception as exc:
            del uow.pending[mark:]  # events of the rolled-back send
            reason = exc.code if isinstance(exc, CentralinoError) else "error"
            if not isinstance(exc, CentralinoError):
                log.exception("case update for case %s failed", case["id"])
            update_id = repo.insert_case_update(conn, {**row, "outcome": "skipped", "reason": reason[:64]})
            uow.emit("case.customer_update_skipped", case_id=int(case["id"]), contact_id=contact_id,
                     update_id=update_id, status=status, reason=reason, actor="system")
            return
        update_id = repo.insert_case_update(conn, {**row, "outcome": sent.outcome, "reason": None,
                                                   "message_id": sent.message_id})
        uow.emit("case.customer_notified", case_id=int(case["id"]), contact_id=contact_id, update_id=update_id,
                 status=status, via=sent.outcome, message_id=sent.message_id,
                 conversation_id=sent.conversation_id, actor="system")

    # --- a customer asks ----------------------------------------------------------------------------------

    def on_received(self, event: Event) -> None:
        """After commit, in the inbound worker's thread: a dict lookup, and (while no case exists at all) one
        probe every few seconds; the text is read and matched on the background thread."""
        if event.payload.get("type") == "text" and self._any_case():
            self.background.put(event)

    def _case_created(self, _event: Event) -> None:
        self._has_cases = True

    def _any_case(self) -> bool:
        if not self._has_cases and time.monotonic() - self._checked_at > CASES_TTL_S:
            cases = getattr(tables_cases, "cases", None)
            try:
                with self.engine.connect() as conn:
                    found = cases is not None and conn.execute(select(cases.c.id).limit(1)).first() is not None
                self._has_cases = found
            except Exception:
                log.exception("looking for cases failed")
            self._checked_at = time.monotonic()
        return self._has_cases

    def wait_idle(self) -> None:
        self.background.wait_idle()

    def _answer_many(self, events: list[Event]) -> None:
        ids = [int(e.payload["message_id"]) for e in events]
        with self.engine.connect() as conn:
            rows = conn.execute(select(messages.c.id, messages.c.text, messages.c.conversation_id,
                                       messages.c.contact_id).where(messages.c.id.in_(ids))).all()
        for row in rows:
            if row.text and asked_number(row.text) is not None:
                try:
                    self.answer(int(row.contact_id), int(row.conversation_id), str(row.text))
                except CentralinoError as exc:
                    log.info("case status answer to message %s not sent: %s", row.id, exc.message)

    def answer(self, contact_id: int, conversation_id: int, text: str) -> int | None:
        """Reply to a status question in `text` in the conversation; the reply's message id (None: no question)."""
        with unit_of_work(self.engine, self.bus) as uow:
            language = uow.conn.execute(select(contacts.c.language).where(contacts.c.id == contact_id)).scalar()
            found = status_answer(uow.conn, contact_id, text, language)
            if found is None:
                return None
            reply, case = found
            message_id = self.outbound.do_send_within(uow, conversation_id, Text(body=reply), origin=ORIGIN)
            if case is not None:
                update_id = repo.insert_case_update(uow.conn, {
                    "case_id": int(case["id"]), "contact_id": contact_id, "kind": "status_query",
                    "status": str(case["status"]), "outcome": "text", "reason": None, "message_id": message_id,
                    "created_at": self.clock()})
                uow.emit("case.status_reported", case_id=int(case["id"]), contact_id=contact_id,
                         update_id=update_id, message_id=message_id, actor="system")
        return message_id
