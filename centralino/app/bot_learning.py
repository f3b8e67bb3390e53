"""Continuous learning (docs/bot.md, "Learning"): candidates the runtime collected (messages the bot was unsure
about, first messages of conversations agents resolved) are labelled by an agent in one click (confirm the
predicted intent or pick another) and become examples (source agent), or are dismissed; the model retrains on
demand ("train now") or on schedule (bot_retrain_interval_s, only when examples were added since the last
version), and BotModels' activation gate decides whether the new version answers."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from centralino.app.bot_admin import PAGE_MAX, add_example, check_labeller, check_manager
from centralino.app.bot_models import BotModels
from centralino.app.unit_of_work import unit_of_work
from centralino.domain.access import Principal
from centralino.errors import CentralinoError, Conflict, InvalidInput, NotFound
from centralino.events.bus import EventBus
from centralino.storage import bot_admin as repo
from centralino.storage import bot_models as model_repo

log = logging.getLogger(__name__)

STATES = ("pending", "labelled", "dismissed")
SCHEDULER = "scheduler"


class BotLearning:
    def __init__(self, engine: Engine, bus: EventBus | None, clock: Callable[[], datetime], models: BotModels, *,
                 retrain_interval_s: float = 0.0) -> None:
        self.engine = engine
        self.bus = bus
        self.clock = clock
        self.models = models
        self.retrain_interval_s = retrain_interval_s

    # --- candidates ---------------------------------------------------------------------------------------------

    def candidates(self, principal: Principal, *, state: str = "pending", reason: str | None = None,
                   limit: int = 50, cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        check_labeller(principal)
        if state not in STATES:
            raise InvalidInput(f"one of {', '.join(STATES)}", field="state")
        with self.engine.connect() as conn:
            return repo.candidates_page(conn, state=state, reason=reason, limit=max(1, min(limit, PAGE_MAX)),
                                        cursor=cursor)

    def pending_count(self) -> int:
        with self.engine.connect() as conn:
            return repo.pending_candidates(conn)

    def do_label(self, principal: Principal, candidate_id: int, intent_id: int | None = None) -> dict[str, Any]:
        """Label a pending candidate with `intent_id`, or (None) confirm the intent the bot predicted; its text
        becomes an example of that intent (source agent) unless it already is one."""
        check_labeller(principal)
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            found = self._pending(uow.conn, candidate_id)
            ids = repo.intent_ids_by_name(uow.conn)
            if intent_id is None:
                predicted = found["predicted_intent"]
                if predicted not in ids:
                    raise InvalidInput("the bot predicted no known intent here: pick one", field="intent_id")
                intent_id = ids[predicted]
            elif intent_id not in ids.values():
                raise InvalidInput(f"no intent {intent_id}", field="intent_id")
            name = next(n for n, i in ids.items() if i == intent_id)
            owner = repo.intent_with_text(uow.conn, found["text"])
            example_id = None
            if owner is None:
                example_id = add_example(uow, intent_id, found["text"][:1000], found["language"], source="agent",
                                         actor=principal.actor, now=now)
            elif owner != name:
                raise Conflict(f"this text is already an example of intent {owner!r}", field="intent_id",
                               code="bot.example_exists")
            if not repo.settle_candidate(uow.conn, candidate_id, {
                    "state": "labelled", "label_intent_id": intent_id, "labelled_by": principal.actor[:64],
                    "labelled_at": now}):
                raise Conflict("this candidate was handled meanwhile", field="candidate_id", code="bot.candidate_done")
            uow.emit("bot.candidate_labelled", candidate_id=candidate_id, intent=name, example_id=example_id,
                     confirmed=name == found["predicted_intent"], actor=principal.actor)
        return {"candidate_id": candidate_id, "intent_id": intent_id, "intent": name, "example_id": example_id}

    def do_dismiss(self, principal: Principal, candidate_id: int) -> None:
        check_labeller(principal)
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            self._pending(uow.conn, candidate_id)
            if not repo.settle_candidate(uow.conn, candidate_id, {
                    "state": "dismissed", "labelled_by": principal.actor[:64], "labelled_at": now}):
                raise Conflict("this candidate was handled meanwhile", field="candidate_id", code="bot.candidate_done")
            uow.emit("bot.candidate_dismissed", candidate_id=candidate_id, actor=principal.actor)

    def _pending(self, conn: Any, candidate_id: int) -> dict[str, Any]:
        found = repo.candidate_for_update(conn, candidate_id)
        if found is None:
            raise NotFound(f"no candidate {candidate_id}", field="candidate_id")
        if found["state"] != "pending":
            raise Conflict(f"this candidate is already {found['state']}", field="candidate_id",
                           code="bot.candidate_done")
        return found

    # --- retraining ---------------------------------------------------------------------------------------------

    def do_train_now(self, principal: Principal) -> dict[str, Any]:
        """Train a version now (seconds); the answer says whether the gate activated or refused it."""
        check_manager(principal)
        version = self.models.do_train(principal.actor)
        with self.engine.connect() as conn:
            row = model_repo.get(conn, version)
        assert row is not None  # just stored
        return {"version": version, "state": row["state"], "reason": row["reason"],
                "accuracy": (row["metrics"] or {}).get("accuracy")}

    def versions(self, principal: Principal, *, limit: int = 100) -> list[dict[str, Any]]:
        """The model versions, newest first (BotModels.versions), for supervisors and administrators."""
        check_manager(principal)
        return self.models.versions(limit=limit)

    def do_activate(self, principal: Principal, version: int) -> list[dict[str, Any]]:
        """Activate `version` by hand; the versions as they are now."""
        check_manager(principal)
        self.models.do_activate(version, principal.actor)
        return self.models.versions()

    def do_rollback(self, principal: Principal) -> list[dict[str, Any]]:
        """Back to the version active before the current one; the versions as they are now."""
        check_manager(principal)
        self.models.do_rollback(principal.actor)
        return self.models.versions()

    def retrain_due(self) -> bool:
        """On schedule: the interval has passed since the newest version, and examples were added since."""
        if self.retrain_interval_s <= 0:
            return False
        with self.engine.connect() as conn:
            newest = model_repo.newest_created_at(conn)
            if newest is not None and self.clock() - newest < timedelta(seconds=self.retrain_interval_s):
                return False
            return repo.examples_since(conn, newest) > 0

    def tick(self) -> int | None:
        """The worker's scheduled retraining: the new version's number, or None when none was due."""
        if not self.retrain_due():
            return None
        try:
            return self.models.do_train(SCHEDULER)
        except CentralinoError as exc:  # e.g. fewer than two intents with examples: nothing to train yet
            log.info("scheduled retraining skipped: %s", exc.message)
            return None
