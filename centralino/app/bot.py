"""The bot answering a customer's message (docs/bot.md): a pending turn (app/bot_ownership.py wrote it with the
message) is claimed with a lease, understood (language, entities, the active model's intent), decided (the
running dialog, else the intent's automation level and threshold, domain/bot.py), and carried out in ONE
transaction that first re-checks the claim and who owns the conversation: sends (window-aware, interactive on
WhatsApp, origin "bot"), the session's new state, a handoff into a routing queue with a summary, a learning
candidate, and the events bot.turn_decided / bot.suggested / bot.handed_off.

Understanding and service calls happen outside any transaction. The bot never speaks while a person owns the
conversation: if one took it meanwhile, the decision is recorded as `ignored` and nothing is sent.

Out of hours (a closed queue handed the conversation over, app/bot_ownership.py) the bot answers beside the
waiting queue item; handing off then tells the customer when the team is back and leaves the conversation in
its queue for the opening; at the opening (release_held, the worker's sweep) it hands over with a summary.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import phonenumbers

from centralino.app.bot_dialogs import Dialogs, Followed
from centralino.app.bot_models import BotModels
from centralino.app.bot_ownership import NEVER_OPENS, held
from centralino.app.outbound import OutboundService
from centralino.app.unit_of_work import UnitOfWork, unit_of_work
from centralino.app.uploads import UploadStore
from centralino.bot.dialog import engine as dialog
from centralino.bot.dialog.render import to_content
from centralino.bot.nlu.entities import extract_entities
from centralino.bot.nlu.language import detect_language
from centralino.bot.nlu.types import Entity, Prediction
from centralino.domain import bot as rules
from centralino.domain.access import Principal, Role
from centralino.domain.bot import Decision, IntentPolicy, SessionState
from centralino.domain.media_rules import MediaKind
from centralino.domain.outbound import Content, Media
from centralino.errors import CentralinoError, InvalidInput
from centralino.events.bus import EventBus
from centralino.storage import bot as repo
from centralino.storage import routing as routing_repo
from centralino.storage import service_levels as hours_repo
from centralino.storage.tables_cases import case_links

log = logging.getLogger(__name__)

ORIGIN = "bot"
BOT_PRINCIPAL = Principal(Role.ADMIN, None, via="integration")  # opens cases from a dialog's ending
RETRAIN_BACKOFF_S = 60.0  # no model and training failed: try again this much later, not on every message


class LeaseLost(Exception):
    """Another worker took the turn over (this one outlived its lease): its work is dropped."""


@dataclass(frozen=True)
class Understanding:
    text: str
    reply_id: str | None
    language: str
    entities: tuple[Entity, ...]
    prediction: Prediction | None
    model_version: int | None

    @property
    def intent(self) -> str | None:
        return self.prediction.intent if self.prediction else None

    @property
    def confidence(self) -> float:
        return float(self.prediction.confidence) if self.prediction else 0.0

    def entity_dicts(self) -> list[dict[str, Any]]:
        return [asdict(e) for e in self.entities]


@dataclass
class Plan:
    """What the final transaction carries out."""

    decision: Decision
    says: list[dialog.Say] = field(default_factory=list)
    reason: str | None = None  # handoff / suggested: why
    suggestion: str | None = None
    dialog: dict[str, Any] | None = None  # the dialog state to keep ({} : none)
    flow_id: int | None = None
    rephrased: int = 0
    unsure: bool = False
    calls: list[dict[str, Any]] = field(default_factory=list)
    case_number: str | None = None
    announced: bool = False  # a handoff whose own text told the customer (else the channel's handoff text)

    @property
    def hands_off(self) -> bool:
        return self.decision in (Decision.HANDOFF, Decision.SUGGESTED)


@dataclass(frozen=True)
class RuntimeSettings:
    lease: timedelta = timedelta(seconds=60)
    batch: int = 20
    max_attempts: int = 3


def region_of(wa_id: str | None) -> str | None:
    """The customer's country from their number (a local phone number they write is read in that country)."""
    if not wa_id:
        return None
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse("+" + wa_id.lstrip("+")))
    except phonenumbers.NumberParseException:
        return None


class BotRuntime:
    def __init__(self, engine: Any, bus: EventBus | None, outbound: OutboundService, models: BotModels,
                 dialogs: Dialogs, uploads: UploadStore, *, routing: Callable[[], Any],
                 cases: Callable[[], Any], clock: Callable[[], datetime],
                 settings: RuntimeSettings | None = None) -> None:
        self.engine = engine
        self.bus = bus
        self.outbound = outbound
        self.models = models
        self.dialogs = dialogs
        self.uploads = uploads
        self.routing = routing  # () -> RoutingAdmin | None (services.routing, wired after the bot)
        self.cases = cases  # () -> Cases | None
        self.clock = clock
        self.settings = settings or RuntimeSettings()
        self._train_after = 0.0
        self._train_lock = threading.Lock()
        self._prefetched: dict[int, tuple[Any, ...]] = {}  # turn id -> what claim() read for it

    # --- the worker's entry points -----------------------------------------------------------------------

    def claim(self, holder: str, limit: int | None = None) -> list[int]:
        """Take a batch of pending turns, and read what answering them needs in the same transaction (on
        SQLite every transaction takes the write lock: one fewer per turn is one fewer wait on the inbound
        writer)."""
        with self.engine.begin() as conn:
            ids = repo.claim(conn, holder, limit or self.settings.batch, self.settings.lease, self.clock())
            if ids:
                intents = repo.intents(conn)
                for turn_id in ids:
                    self._prefetched[turn_id] = self._read(conn, turn_id, intents)
        return ids

    def run_once(self, holder: str) -> int:
        """Claim and answer a batch of pending turns, one after the other; how many were taken."""
        ids = self.claim(holder)
        for turn_id in ids:
            self.process(turn_id, holder)
        return len(ids)

    def process(self, turn_id: int, holder: str) -> None:
        """Answer one claimed turn. A failure leaves it pending for another attempt after a pause; after
        max_attempts the turn is failed and the conversation handed to people (never left unanswered)."""
        try:
            self._process(turn_id, holder)
        except LeaseLost:
            log.info("bot turn %s was taken over by another worker", turn_id)
        except Exception as exc:
            log.exception("bot turn %s failed", turn_id)
            self._failed(turn_id, holder, f"{type(exc).__name__}: {exc}")

    # --- one turn ------------------------------------------------------------------------------------------

    def _read(self, conn: Any, turn_id: int, intents: list[dict[str, Any]]) -> tuple[Any, ...]:
        ctx = repo.turn_context(conn, turn_id)
        if ctx is None:
            return None, None, {}, intents
        return (ctx, repo.session(conn, int(ctx["conversation_id"])),
                repo.channel_settings(conn, int(ctx["channel_id"])) or {}, intents)

    def _process(self, turn_id: int, holder: str) -> None:
        read = self._prefetched.pop(turn_id, None)
        if read is None:
            with self.engine.connect() as conn:
                read = self._read(conn, turn_id, repo.intents(conn))
        ctx, session, config, intents = read
        if ctx is None or ctx["state"] != "pending":
            return
        if ctx["claimed_by"] != holder:
            raise LeaseLost(turn_id)
        if session is None or session["state"] != SessionState.ACTIVE or _person_owns(ctx, session, self.clock()):
            self._carry_out(turn_id, holder, ctx, None, Plan(Decision.IGNORED), None)
            return
        understanding = self.understand(ctx, session, config)
        plan = self.decide(ctx, session, config, intents, understanding)
        self._carry_out(turn_id, holder, ctx, session, plan, understanding, config)

    def understand(self, ctx: Mapping[str, Any], session: Mapping[str, Any],
                   config: Mapping[str, Any]) -> Understanding:
        content = ctx["content"] or {}
        text = str(ctx["text"] or content.get("caption") or "").strip()
        reply_id = content.get("id") if ctx["message_type"] == "interactive" else content.get("payload")
        default = str(session.get("language") or config.get("default_language") or "it")
        # a few words ("sì", "4711") say little about the language: keep the session's once it has one
        language = default if session.get("language") and len(text.split()) < 3 else detect_language(
            text, default=default) if text else default
        entities = tuple(extract_entities(text, language=language, region=region_of(ctx["wa_id"]) or "IT",
                                          now=self.clock())) if text else ()
        active = self._model()
        prediction = active[1].predict(text) if active is not None and text else None
        return Understanding(text, str(reply_id) if reply_id else None, language, entities, prediction,
                             active[0] if active is not None else None)

    def _model(self) -> Any:
        active = self.models.active()
        if active is not None or time.monotonic() < self._train_after:
            return active
        # no model yet: train one from the examples there are (the first model is activated whatever its score);
        # turns answered meanwhile by other threads wait for it rather than train again
        with self._train_lock:
            active = self.models.active()
            if active is not None or time.monotonic() < self._train_after:
                return active
            self._train_after = time.monotonic() + RETRAIN_BACKOFF_S
            try:
                self.models.do_train("bot")
            except CentralinoError as exc:
                log.info("bot: no model to answer with (%s)", exc.message)
                return None
            return self.models.active()

    def decide(self, ctx: Mapping[str, Any], session: Mapping[str, Any], config: Mapping[str, Any],
               intents: Sequence[Mapping[str, Any]], u: Understanding) -> Plan:
        policies = {str(i["name"]): IntentPolicy(str(i["name"]), rules.Automation.parse(i["automation"]),
                                                 float(i["threshold"]), dict(i["answers"] or {}), i["flow"])
                    for i in intents if i["enabled"]}
        policy = policies.get(u.intent) if u.intent else None
        threshold = policy.threshold if policy else 1.0
        turn = dialog.TurnInput(text=u.text, reply_id=u.reply_id, entities=u.entities, intent=u.intent,
                                confidence=u.confidence, language=u.language, threshold=threshold)
        running = dict(session.get("dialog") or {})
        if running.get("flow"):
            loaded = self.dialogs.flow(str(running["flow"]))
            if loaded is None:  # the flow was deleted or disabled under the dialog
                return Plan(Decision.HANDOFF, reason="flow", dialog={})
            flow_id, flow = loaded
            state = dialog.DialogState.from_json(running)
            followed = self.dialogs.follow(flow, dialog.advance(flow, state, turn))
            if followed.topic_change is None:
                return self._after_dialog(ctx, u, followed, flow_id, config)
            policy = policies.get(followed.topic_change)  # another confident intent: a new topic
        elif rules.asks_for_human(u.text):
            return Plan(Decision.HANDOFF, reason="customer_asked", dialog={})
        elif not u.text and u.reply_id is None:  # a photo, a voice note: people look at those
            return Plan(Decision.HANDOFF, reason="not_text", dialog={})
        if u.model_version is None:
            return Plan(Decision.HANDOFF, reason="no_model", dialog={})
        default_language = str(config.get("default_language") or "it")
        choice = rules.choose(policy, u.confidence, rephrased=int(session.get("rephrased") or 0),
                              rephrase_limit=int(config.get("rephrase_limit", 1)), language=u.language,
                              default_language=default_language)
        if choice.action == "answer":
            return Plan(Decision.ANSWERED, says=[dialog.Say(choice.text or "")], dialog={})
        if choice.action == "suggest":
            return Plan(Decision.SUGGESTED, reason="suggested", suggestion=choice.text, dialog={})
        if choice.action == "rephrase":
            text = rules.channel_text("rephrase", config.get("texts"), u.language, default_language)
            return Plan(Decision.REPHRASE, says=[dialog.Say(text)], rephrased=int(session.get("rephrased") or 0) + 1,
                        unsure=True, dialog={})
        if choice.action == "flow" and choice.flow is not None:
            loaded = self.dialogs.flow(choice.flow)
            if loaded is not None:
                flow_id, flow = loaded
                return self._after_dialog(ctx, u, self.dialogs.follow(flow, dialog.start(flow, turn)), flow_id,
                                          config)
            return Plan(Decision.HANDOFF, reason="flow", dialog={})
        return Plan(Decision.HANDOFF, reason=choice.reason, unsure=choice.unsure, dialog={})

    def _after_dialog(self, ctx: Mapping[str, Any], u: Understanding, followed: Followed, flow_id: int,
                      config: Mapping[str, Any]) -> Plan:
        says, ending = list(followed.says), followed.ending
        state = followed.state.to_json() if followed.state is not None else {}
        if ending is None:
            return Plan(Decision.DIALOG, says=says, dialog=state, flow_id=flow_id, calls=followed.calls)
        if ending.kind == "answer":
            return Plan(Decision.ANSWERED, says=[*says, *([dialog.Say(ending.text)] if ending.text else [])],
                        dialog={}, calls=followed.calls)
        if ending.kind == "open_case":
            number = self._open_case(ctx, ending.case or {})
            if number is None:
                return Plan(Decision.HANDOFF, says=says, reason="case_failed", dialog=state, calls=followed.calls)
            text = (ending.text.replace("{number}", number) if ending.text else rules.channel_text(
                "case_opened", config.get("texts"), u.language, str(config.get("default_language") or "it"))
                .format(number=number))
            return Plan(Decision.ANSWERED, says=[*says, dialog.Say(text)], dialog={}, calls=followed.calls,
                        case_number=number)
        return Plan(Decision.HANDOFF, says=[*says, *([dialog.Say(ending.text)] if ending.text else [])],
                    reason=ending.reason or "flow", dialog=state, calls=followed.calls, announced=bool(ending.text))

    def _open_case(self, ctx: Mapping[str, Any], case: Mapping[str, Any]) -> str | None:
        """A case from the conversation, linked to the customer's message; a retried turn finds the case its
        first attempt opened (by that link) instead of opening another."""
        cases = self.cases()
        if cases is None:
            return None
        message_id = int(ctx["message_id"])
        with self.engine.connect() as conn:
            existing = conn.execute(case_links.select().where(case_links.c.kind == "message",
                                                              case_links.c.ref_id == message_id)).mappings().first()
        try:
            if existing is not None:
                return str(cases.views.get_case(BOT_PRINCIPAL, int(existing["case_id"]))["number"])
            created = cases.cases.do_create_case(
                BOT_PRINCIPAL, case_type=str(case.get("type") or "general"), title=str(case.get("title") or "Bot"),
                conversation_id=int(ctx["conversation_id"]), message_ids=[message_id],
                fields=dict(case.get("fields") or {}) or None)
        except CentralinoError as exc:
            # code and field only: a refused field's message may quote what the customer typed
            log.warning("bot: the dialog's case could not be opened: %s (%s)", exc.code, exc.field)
            return None
        return str(created["number"])

    # --- carrying it out -----------------------------------------------------------------------------------

    def _contents(self, says: list[dialog.Say], channel_kind: str) -> list[Content]:
        """The messages to queue; a document (a service's PDF) is uploaded first (its own small transaction)."""
        out: list[Content] = []
        for say in says:
            if say.document is not None:
                stored = self.uploads.do_store(io.BytesIO(say.document), filename=say.filename or "document.pdf",
                                               declared_mime=say.content_type or "application/pdf", origin=ORIGIN)
                out.append(Media(MediaKind.DOCUMENT, media_id=stored.id, caption=say.text or None,
                                 filename=say.filename or "document.pdf"))
            elif say.text.strip() or say.buttons or say.list_rows:
                out.append(to_content(say, channel_kind))
        return out

    def _carry_out(self, turn_id: int, holder: str, ctx: Mapping[str, Any], session: Mapping[str, Any] | None,
                   plan: Plan, u: Understanding | None, config: Mapping[str, Any] | None = None) -> None:
        config = config or {}
        now = self.clock()
        cid = int(ctx["conversation_id"])
        contents = self._contents(plan.says, str(ctx["channel_kind"])) if plan.decision is not Decision.IGNORED else []
        # the send looks the channel up in the directory, which loads it on its own connection when it does not
        # know it yet (a fresh process): done now, not while this transaction holds SQLite's write lock
        self.outbound.directory.by_id(int(ctx["channel_id"]))
        with unit_of_work(self.engine, self.bus) as uow:
            conn = uow.conn
            if not repo.finish(conn, turn_id, holder, {"state": "done", "done_at": now, "error": None}):
                raise LeaseLost(turn_id)
            current = repo.session(conn, cid, lock=True)
            owners = routing_repo.ownership_many(conn, [cid]).get(cid)
            closed = current is not None and held(current, now)  # its queue item waits for the opening
            if (current is None or current["state"] != SessionState.ACTIVE or owners is None
                    or owners.assignee_user_id is not None or (owners.item_id is not None and not closed)):
                plan = Plan(Decision.IGNORED)
                contents = []
            opens = None
            if plan.hands_off and closed:
                opens = self._opening(conn, cid, current, now)
            elif plan.hands_off and current is not None:  # out of hours, the customer hears when the team is back
                opens = self._closed_target(conn, cid, int(ctx["message_id"]), (u.intent if u else None)
                                            or current.get("intent"), now)
            reply_id = self._send(uow, cid, contents, plan, u, config, opens)
            values: dict[str, Any] = {"decision": plan.decision.value, "reply_message_id": reply_id,
                                      "suggestion": plan.suggestion}
            if u is not None:
                values.update(intent=u.intent, confidence=u.confidence if u.prediction else None,
                              language=u.language, entities=u.entity_dicts(), model_version=u.model_version)
            repo.update_turn(conn, turn_id, values)
            if plan.decision is not Decision.IGNORED and current is not None and u is not None:
                self._update_session(uow, cid, ctx, current, plan, u, now, opens)
                if plan.unsure and u.text:
                    repo.add_candidate(conn, {"message_id": int(ctx["message_id"]), "text": u.text,
                                              "language": u.language, "reason": "unsure",
                                              "predicted_intent": u.intent,
                                              "confidence": u.confidence if u.prediction else None,
                                              "created_at": now})
            uow.emit("bot.turn_decided", turn_id=turn_id, conversation_id=cid, message_id=int(ctx["message_id"]),
                     decision=plan.decision.value, intent=u.intent if u else None,
                     confidence=round(u.confidence, 4) if u and u.prediction else None,
                     language=u.language if u else None, reply_message_id=reply_id,
                     model_version=u.model_version if u else None)
            if plan.decision is Decision.SUGGESTED:
                uow.emit("bot.suggested", turn_id=turn_id, conversation_id=cid, intent=u.intent if u else None,
                         suggestion=plan.suggestion)

    def _send(self, uow: UnitOfWork, cid: int, contents: list[Content], plan: Plan, u: Understanding | None,
              config: Mapping[str, Any], opens: Opening | None = None) -> int | None:
        """Queue the plan's messages (and, handing off, the handoff text when the plan has none of its own; out
        of hours, whatever the plan says, when the team is back: nobody would answer before). A send the channel
        refuses (the window closed, a channel that cannot send) turns the plan into a handoff: people can still
        answer with a template."""
        if plan.decision is Decision.IGNORED:
            return None
        language = u.language if u else "it"
        default_language = str(config.get("default_language") or "it")
        if opens is not None:
            contents = [*contents, to_content(dialog.Say(opens.text(config, language, default_language)), "text")]
        elif plan.decision is Decision.HANDOFF and not plan.announced:
            text = rules.channel_text("handoff", config.get("texts"), language, default_language)
            contents = [*contents, to_content(dialog.Say(text), "text")]
        reply_id = None
        try:
            for content in contents:
                reply_id = self.outbound.do_send_within(uow, cid, content, origin=ORIGIN)
        except (CentralinoError, InvalidInput) as exc:
            log.info("bot: conversation %s cannot be answered (%s): handing off", cid, exc.message)
            plan.decision, plan.reason, plan.says = Decision.HANDOFF, "cannot_send", []
        return reply_id

    def _update_session(self, uow: UnitOfWork, cid: int, ctx: Mapping[str, Any], current: Mapping[str, Any],
                        plan: Plan, u: Understanding, now: datetime, opens: Opening | None) -> None:
        conn = uow.conn
        values: dict[str, Any] = {"language": u.language, "updated_at": now,
                                  "rephrased": plan.rephrased if plan.decision is Decision.REPHRASE else 0}
        if u.intent is not None and (u.prediction is None or plan.decision is not Decision.REPHRASE):
            values["intent"] = u.intent
        if u.entities:
            values["entities"] = [*(current.get("entities") or []), *u.entity_dicts()][-20:]
        if plan.dialog is not None:
            values["dialog"] = plan.dialog
            values["flow_id"] = plan.flow_id if plan.dialog else None
        if not plan.hands_off:
            repo.update_session(conn, cid, values)
            return
        slots = dict((plan.dialog or current.get("dialog") or {}).get("slots") or {})
        # this turn may already read as done in this transaction: it is told once, last, with today's decision
        turns = [{"text": t["text"], "intent": t["intent"], "decision": t["decision"]}
                 for t in repo.session_turns(conn, cid, current["started_at"])
                 if int(t["message_id"]) != int(ctx["message_id"])]
        turns.append({"text": u.text, "intent": u.intent, "decision": plan.decision.value})
        flow = (plan.dialog or current.get("dialog") or {}).get("flow")
        summary = rules.summary(reason=plan.reason or "handoff", intent=u.intent or current.get("intent"),
                                confidence=u.confidence if u.prediction else None, language=u.language,
                                entities=values.get("entities", current.get("entities") or []), slots=slots,
                                turns=turns, flow=flow)
        if plan.calls:
            summary["services"] = plan.calls
        if plan.suggestion:
            summary["suggestion"] = plan.suggestion
        if opens is not None and opens.at is not None:
            summary["opens_at"] = opens.at.isoformat()
        self._hand_over(uow, cid, values, summary, language=u.language, message_id=int(ctx["message_id"]),
                        intent_for_rules=summary["intent"])

    def _hand_over(self, uow: UnitOfWork, cid: int, values: Mapping[str, Any], summary: dict[str, Any], *,
                   language: str | None, message_id: int | None = None, intent_for_rules: str | None = None) -> None:
        """The session handed off with its summary, the conversation in a queue (the one its item already waits
        in, out of hours), and bot.handed_off."""
        repo.update_session(uow.conn, cid, {**values, "state": SessionState.HANDED_OFF.value, "summary": summary})
        routing = self.routing()
        item_id = None
        if routing is not None:
            item_id = routing.service.enqueue(uow, cid, message_id=message_id, intent=intent_for_rules)
        if item_id is None and (live := routing_repo.live_item(uow.conn, cid)) is not None:
            item_id = int(live["id"])  # already queued: out of hours, the item waiting for the opening
        uow.emit("bot.handed_off", conversation_id=cid, reason=summary["reason"], intent=summary["intent"],
                 language=language, item_id=item_id, summary=summary["text"], opens_at=summary.get("opens_at"))

    def _opening(self, conn: Any, cid: int, session: Mapping[str, Any] | None, now: datetime) -> Opening:
        """When the team is back: the next opening of the queue the conversation waits in, local to that queue."""
        item = hours_repo.live_item(conn, cid)
        calendar = hours_repo.calendar_of(hours_repo.queue_settings(conn, int(item.queue_id)) if item else None)
        opens = calendar.next_open(now)
        if opens is None or opens <= now:  # no hours on that queue (any more): when the bot was told it opens
            until = (session or {}).get("held_until")
            opens = until if until is not None and until < NEVER_OPENS else None
        return Opening.local(calendar.zone, opens, now)

    def _closed_target(self, conn: Any, cid: int, message_id: int, intent: str | None,
                       now: datetime) -> Opening | None:
        """When the queue a handoff is about to put the conversation in opens, if it is closed now."""
        routing = self.routing()
        queue_id = None if routing is None else routing.service.queue_for(conn, cid, message_id=message_id,
                                                                          intent=intent)
        if queue_id is None:
            return None
        calendar = hours_repo.calendar_of(hours_repo.queue_settings(conn, queue_id))
        if calendar.is_open(now):
            return None
        opens = calendar.next_open(now)
        return Opening.local(calendar.zone, opens, now)

    def release_held(self, limit: int = 100) -> int:
        """Conversations the bot held for a queue that has opened since: handed to the team, with a summary of
        what the bot did meanwhile (reason queue_open). How many."""
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            ended = repo.holds_ended(uow.conn, now, limit)
            for session in ended:
                cid = int(session["conversation_id"])
                state = dict(session.get("dialog") or {})
                turns = [{"text": t["text"], "intent": t["intent"], "decision": t["decision"]}
                         for t in repo.session_turns(uow.conn, cid, session["started_at"])]
                summary = rules.summary(reason="queue_open", intent=session.get("intent"), confidence=None,
                                        language=session.get("language"), entities=session.get("entities") or [],
                                        slots=dict(state.get("slots") or {}), turns=turns, flow=state.get("flow"))
                self._hand_over(uow, cid, {"updated_at": now}, summary, language=session.get("language"),
                                intent_for_rules=session.get("intent"))
        return len(ended)

    def _failed(self, turn_id: int, holder: str, error: str) -> None:
        """A turn that failed: retried after a pause, or (out of attempts) failed and handed off."""
        now = self.clock()
        try:
            with self.engine.begin() as conn:
                ctx = repo.turn_context(conn, turn_id)
                if ctx is None or ctx["claimed_by"] != holder:
                    return
                if int(ctx["attempts"]) < self.settings.max_attempts:
                    repo.release(conn, turn_id, holder, error, now + timedelta(seconds=2 ** int(ctx["attempts"])))
                    return
            with unit_of_work(self.engine, self.bus) as uow:
                if not repo.finish(uow.conn, turn_id, holder, {"state": "failed", "done_at": now,
                                                               "decision": Decision.HANDOFF.value,
                                                               "error": error[:2000]}):
                    return
                cid = int(ctx["conversation_id"])
                session = repo.session(uow.conn, cid, lock=True)
                if session is None or session["state"] != SessionState.ACTIVE:
                    return
                summary = rules.summary(reason="failed", intent=session.get("intent"), confidence=None,
                                        language=session.get("language"), entities=session.get("entities") or [],
                                        slots={}, turns=[], flow=None)
                self._hand_over(uow, cid, {"updated_at": now}, summary, language=session.get("language"))
        except Exception:
            log.exception("bot turn %s: recording the failure failed too", turn_id)


def _person_owns(ctx: Mapping[str, Any], session: Mapping[str, Any], now: datetime) -> bool:
    """An assignee, or a queue item (unless the bot holds the conversation for its closed queue)."""
    return ctx["assignee_user_id"] is not None or (ctx["item_id"] is not None and not held(session, now))


@dataclass(frozen=True)
class Opening:
    """When the team is back, local to the queue (None: no opening ahead), and now there: for the customer."""

    at: datetime | None
    now: datetime

    @classmethod
    def local(cls, zone: Any, at: datetime | None, now: datetime) -> Opening:
        return cls(at.astimezone(zone) if at else None, now.astimezone(zone))

    def text(self, config: Mapping[str, Any], language: str, default_language: str) -> str:
        texts = config.get("texts")
        if self.at is None:
            return rules.channel_text("closed_no_time", texts, language, default_language)
        phrase = rules.opening_phrase(self.at, self.now, rules.phrase_language(language, default_language))
        return rules.channel_text("closed", texts, language, default_language).replace("{opens}", phrase)
