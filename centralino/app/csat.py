"""The CSAT survey after a resolution, and the customer's answer (docs/service-levels.md).

Queued inside the resolution's transaction (one per resolved contact): inside the 24-h window an interactive
message (a list of 1-5, or three reply buttons 😞 😐 😀 = 1, 3, 5: WhatsApp allows at most three buttons),
outside it the configured template (refused, and recorded as such, when none is set, the template cannot be
sent or the customer's consent is missing). The answer is the customer's tap: the row or button id carries
the survey id; a template's quick-reply button is matched by its reply context (the survey message)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from centralino.app.outbound import OutboundService
from centralino.app.template_send import TemplateRequest, TemplateSender
from centralino.app.unit_of_work import UnitOfWork
from centralino.domain.outbound import Content, ListMessage, ListRow, ListSection, ReplyButton, ReplyButtons
from centralino.domain.sla import auto_reply_text, csat_reply_id, parse_csat_reply
from centralino.errors import CentralinoError, Conflict
from centralino.events.bus import Event
from centralino.storage.tables import contacts, conversations, messages
from centralino.storage.tables_service_levels import csat_surveys

CSAT_ORIGIN = "system"
FACES = {1: "😞", 2: "🙁", 3: "😐", 4: "🙂", 5: "😀"}
BUTTON_SCORES = (1, 3, 5)
TEMPLATE_ANSWERS = {**{str(n): n for n in range(1, 6)}, **{face: n for n, face in FACES.items()}}


class CsatSurveys:
    def __init__(self, outbound: OutboundService, templates: TemplateSender | None, *, style: str,
                 question: Mapping[str, str], template_name: str | None,
                 default_language: str, clock: Callable[[], datetime]) -> None:
        self.outbound = outbound
        self.templates = templates
        self.style = style
        self.question = dict(question)
        self.template_name = template_name
        self.default_language = default_language
        self.clock = clock

    # --- the survey ----------------------------------------------------------------------------------------

    def on_resolved(self, uow: UnitOfWork, episode: Mapping[str, Any], now: datetime) -> None:
        conversation_id = int(episode["conversation_id"])
        row = uow.conn.execute(select(conversations.c.window_expires_at, contacts.c.language).join(
            contacts, contacts.c.id == conversations.c.contact_id).where(conversations.c.id == conversation_id)).one()
        inside = row.window_expires_at is not None and row.window_expires_at > now
        survey_id = uow.conn.execute(csat_surveys.insert().values(
            episode_id=int(episode["id"]), conversation_id=conversation_id, agent_user_id=episode["agent_user_id"],
            queue_id=episode["queue_id"], channel_id=int(episode["channel_id"]),
            mode="interactive" if inside else "template", state="sent", created_at=now)
            .returning(csat_surveys.c.id)).scalar_one()
        try:
            content = self._interactive(survey_id, row.language) if inside else self._template(uow, conversation_id)
            message_id = self.outbound.do_send_within(uow, conversation_id, content, origin=CSAT_ORIGIN)
        except CentralinoError as exc:
            self._set(uow, survey_id, state="refused", refused_reason=f"{exc.code}: {exc.message}")
            uow.emit("csat.refused", survey_id=survey_id, conversation_id=conversation_id, code=exc.code)
            return
        self._set(uow, survey_id, message_id=message_id)
        uow.emit("csat.sent", survey_id=survey_id, conversation_id=conversation_id, message_id=message_id,
                 mode="interactive" if inside else "template")

    def _interactive(self, survey_id: int, language: str | None) -> Content:
        body = auto_reply_text(self.question, language, self.default_language) or "1-5?"
        if self.style == "buttons":
            return ReplyButtons(body, tuple(ReplyButton(csat_reply_id(survey_id, n), FACES[n]) for n in BUTTON_SCORES))
        rows = tuple(ListRow(csat_reply_id(survey_id, n), f"{FACES[n]} {n}") for n in range(5, 0, -1))
        return ListMessage(body, "1-5", (ListSection(rows),))

    def _template(self, uow: UnitOfWork, conversation_id: int) -> Content:
        if not self.template_name or self.templates is None:
            raise Conflict("no CSAT template is configured (CENTRALINO_CSAT_TEMPLATE_NAME)",
                                  field="csat_template_name", code="csat.no_template")
        request = TemplateRequest(self.template_name, None)
        return self.templates.check_send(uow.conn, conversation_id, request)

    # --- the answer ----------------------------------------------------------------------------------------

    def on_received(self, uow: UnitOfWork, event: Event) -> bool:
        """Record a survey answer; True when the message was one. Only interactive and button messages are
        looked at (everything else returns at once)."""
        if event.payload.get("type") not in ("interactive", "button"):
            return False
        m = messages.c
        message = uow.conn.execute(select(m.content, m.reply_to_message_id).where(
            m.id == event.payload["message_id"])).first()
        if message is None:
            return False
        content = dict(message.content or {})
        parsed = parse_csat_reply(content.get("id"))
        conversation_id = int(event.payload["conversation_id"])
        s = csat_surveys.c
        if parsed is not None:
            survey_id, score = parsed
            where = [s.id == survey_id]
        elif message.reply_to_message_id is not None:
            answer = str(content.get("payload") or content.get("text") or "").strip()
            if answer not in TEMPLATE_ANSWERS:
                return False
            score, where = TEMPLATE_ANSWERS[answer], [s.message_id == message.reply_to_message_id]
        else:
            return False
        survey = uow.conn.execute(select(csat_surveys).where(
            *where, s.conversation_id == conversation_id, s.state == "sent")).mappings().first()
        if survey is None:
            return False  # another conversation's id, a second tap, or not a survey: nothing recorded
        self._set(uow, int(survey["id"]), state="answered", score=score, answered_at=self.clock())
        uow.emit("csat.answered", survey_id=int(survey["id"]), conversation_id=conversation_id, score=score,
                 agent_user_id=survey["agent_user_id"], queue_id=survey["queue_id"])
        self._keep_resolved(uow, conversation_id)
        return True

    @staticmethod
    def _keep_resolved(uow: UnitOfWork, conversation_id: int) -> None:
        """The tap reopened the resolved conversation (the inbound rule for any customer message): an answer
        to the survey needs no agent, so it is resolved again."""
        c = conversations.c
        reopened = uow.conn.execute(update(conversations).where(c.id == conversation_id, c.status == "open")
                                    .values(status="resolved").returning(c.id)).first()
        if reopened is not None:
            uow.emit("conversation.status_changed", conversation_id=conversation_id, status="resolved",
                     previous="open", actor="csat")

    @staticmethod
    def _set(uow: UnitOfWork, survey_id: int, **values: Any) -> None:
        uow.conn.execute(update(csat_surveys).where(csat_surveys.c.id == survey_id).values(**values))
