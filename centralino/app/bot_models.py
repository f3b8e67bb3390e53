"""The bot's trained models: training from the labelled examples, the activation gate, rollback, and the
active model for the runtime (docs/bot.md, "Learning").

Training reads the examples, trains and evaluates outside any transaction (seconds of CPU), then stores the
version in one short transaction. A new version is activated only if it is not worse than the active one on
the held-back eval split (both judged on today's eval examples); otherwise it is kept as `refused` with the
reason. The first model is activated whatever its score: anything beats no model.

`active()` serves the runtime: the model is cached per version; the active version is re-read at most every
ACTIVE_TTL_S (one indexed query), so an activation by another process is picked up within seconds.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError

from centralino.app.unit_of_work import unit_of_work
from centralino.errors import Conflict, InvalidInput, NotFound
from centralino.events.bus import EventBus
from centralino.storage import bot_models as repo

if TYPE_CHECKING:
    from centralino.bot.nlu.model import IntentModel
    from centralino.bot.nlu.types import Example

ACTIVE_TTL_S = 2.0
# Scores within this of the active model's count as "not worse": accuracy on a few dozen eval examples moves
# in steps of 1/n, and floating point sums differ in the last digits.
TOLERANCE = 1e-9
# Why a version is in its state (bot_models.reason, English for the API and the logs); the desk shows each in the
# agent's language from its code and values (reason_parts).
REASONS = {
    "first": "first model",
    "no_eval": "no eval examples to compare on",
    "as_good": "eval accuracy {new} >= {old} of version {version}",
    "worse": "eval accuracy {new} is worse than {old} of active version {version} on the same {n} eval examples",
    "activated": "activated by {actor}",
    "rolled_back": "rolled back by {actor}",
}
_REASON_PATTERNS = {code: re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>.+?)", re.escape(text)) + "$")
                    for code, text in REASONS.items()}


def reason_parts(reason: str | None) -> tuple[str, dict[str, str]] | None:
    """A stored reason's code and values ("worse", {"new": "0.750", …}); None for one not written from REASONS."""
    for code, pattern in _REASON_PATTERNS.items():
        if reason and (found := pattern.match(reason)):
            return code, found.groupdict()
    return None


class BotModels:
    def __init__(self, engine: Engine, bus: EventBus | None, clock: Callable[[], datetime],
                 encoder: str = "use") -> None:
        self.engine = engine
        self.bus = bus
        self.clock = clock
        self.encoder = encoder
        self._cached: tuple[int, IntentModel] | None = None
        self._checked_at = -1e9
        self._load_lock = threading.Lock()
        self._train_lock = threading.Lock()  # one training at a time per process ("train now" clicked twice)

    # --- the runtime's side -------------------------------------------------------------------------------

    def active(self) -> tuple[int, IntentModel] | None:
        """The active (version, model), or None when no model is active yet."""
        now = time.monotonic()
        cached = self._cached
        if cached is not None and now - self._checked_at < ACTIVE_TTL_S:
            return cached
        with self._load_lock:
            with self.engine.connect() as conn:
                version = repo.active_version(conn)
                if version is None:
                    self._cached = None
                elif self._cached is None or self._cached[0] != version:
                    from centralino.bot.nlu.model import IntentModel  # numpy/scikit-learn: only when a model is used

                    blob = repo.blob_of(conn, version)
                    self._cached = (version, IntentModel.from_bytes(blob)) if blob is not None else None
            self._checked_at = time.monotonic()
            return self._cached

    def forget(self) -> None:
        """Re-read the active version on the next active() (after this process changed it)."""
        self._checked_at = -1e9

    # --- training and the activation gate -----------------------------------------------------------------

    def do_train(self, actor: str) -> int:
        """Train a version from the examples of the enabled intents; activate it if it passes the gate.
        Returns the new version number."""
        with self._train_lock:
            with self.engine.connect() as conn:
                rows = repo.labelled_examples(conn)
            training = [_example(r) for r in rows if r["split"] != "eval"]
            held_back = [_example(r) for r in rows if r["split"] == "eval"]
            intents = {e.intent for e in training}
            if len(intents) < 2:
                raise InvalidInput("training needs training examples of at least two intents", field="examples",
                                   code="bot.too_few_intents")
            from centralino.bot.nlu.model import train

            model = train(training, encoder=self.encoder, seed=0)
            scored = score(model, held_back)
            self.forget()  # judge against the version active now, not a cached one
            current = self.active()
            baseline = score(current[1], held_back) if current is not None else None
            state, reason = judge(scored, baseline, current[0] if current else None)
            metrics = {**scored, "train_examples": len(training), "intents": sorted(intents),
                       "compared_with": None if current is None or baseline is None else
                       {"version": current[0], "accuracy": baseline["accuracy"]}}
            values = {"state": state, "encoder": model.encoder_name, "blob": model.to_bytes(), "metrics": metrics,
                      "trained_examples": len(training), "reason": reason, "trained_by": actor[:64]}
            for attempt in range(3):
                try:
                    version = self._store(values, actor)
                    break
                except IntegrityError:  # another process stored the same version number first: take the next
                    if attempt == 2:
                        raise
            if state == "active":
                self._cached = (version, model)
                self._checked_at = time.monotonic()
            return version

    def _store(self, values: dict[str, Any], actor: str) -> int:
        now = self.clock()
        active = values["state"] == "active"
        with unit_of_work(self.engine, self.bus) as uow:
            version = repo.next_version(uow.conn)
            if active:
                repo.retire_active(uow.conn)
            repo.insert_version(uow.conn, {**values, "version": version, "created_at": now,
                                           "activated_at": now if active else None})
            uow.emit("bot.model_trained", version=version, state=values["state"],
                     accuracy=values["metrics"]["accuracy"], actor=actor)
            if active:
                uow.emit("bot.model_activated", version=version, actor=actor)
        return version

    # --- manual activation and rollback -------------------------------------------------------------------

    def do_activate(self, version: int, actor: str) -> None:
        """Make `version` the active one (any stored version: a refused one on purpose, or an earlier one
        to roll back); the active one is retired."""
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            found = repo.get(uow.conn, version)
            if found is None:
                raise NotFound(f"no model version {version}", field="version")
            if found["state"] == "active":
                raise Conflict(f"version {version} is already active", field="version", code="bot.already_active")
            previous = repo.retire_active(uow.conn)
            code = "rolled_back" if previous and version < max(previous) else "activated"
            repo.set_active(uow.conn, version, reason=REASONS[code].format(actor=actor), now=now)
            uow.emit("bot.model_activated", version=version, actor=actor, previous=previous)
        self.forget()

    def do_rollback(self, actor: str) -> int:
        """Activate the newest version older than the active one that was active before (retired)."""
        with self.engine.connect() as conn:
            listing = repo.listing(conn, limit=1000)
        active = next((m["version"] for m in listing if m["state"] == "active"), None)
        earlier = [m["version"] for m in listing if m["state"] == "retired"
                   and (active is None or m["version"] < active)]
        if not earlier:
            raise Conflict("there is no earlier version to roll back to", field="version", code="bot.no_rollback")
        self.do_activate(earlier[0], actor)
        return int(earlier[0])

    def versions(self, limit: int = 100) -> list[dict[str, Any]]:
        """Newest first, without the blob; metrics without the per-example evaluation."""
        with self.engine.connect() as conn:
            rows = repo.listing(conn, limit=limit)
        for row in rows:
            row["metrics"] = {k: v for k, v in (row["metrics"] or {}).items() if k != "eval"}
        return rows

    def evaluation(self, version: int | None = None) -> dict[str, Any] | None:
        """The stored metrics of `version` (default: the active one), per-example evaluation included."""
        with self.engine.connect() as conn:
            version = version if version is not None else repo.active_version(conn)
            found = repo.get(conn, version) if version is not None else None
        return found


def _example(row: dict[str, Any]) -> Example:
    from centralino.bot.nlu.types import Example

    return Example(text=row["text"], intent=row["intent"], language=row["language"])


def score(model: IntentModel, held_back: Sequence[Example]) -> dict[str, Any]:
    """Accuracy on the eval split (out-of-scope answers count as wrong), and each eval example's
    [gold, predicted, confidence]: the per-intent report recomputes precision and coverage from these at
    whatever threshold the business picks, without running the model again."""
    if not held_back:
        return {"accuracy": None, "eval_examples": 0, "eval": []}
    predictions = model.predict_many([e.text for e in held_back])
    rows = [[e.intent, p.intent, round(float(p.confidence), 4)] for e, p in zip(held_back, predictions, strict=True)]
    correct = sum(1 for gold, predicted, _ in rows if gold == predicted)
    return {"accuracy": correct / len(rows), "eval_examples": len(rows), "eval": rows}


def judge(candidate: dict[str, Any], baseline: dict[str, Any] | None,
          active_version: int | None) -> tuple[str, str]:
    """(state, reason) of a freshly trained version against the active one, on the same eval examples."""
    if active_version is None:
        return "active", REASONS["first"]
    if baseline is None or candidate["accuracy"] is None or baseline["accuracy"] is None:
        return "active", REASONS["no_eval"]
    new, old = candidate["accuracy"], baseline["accuracy"]
    if new + TOLERANCE >= old:
        return "active", REASONS["as_good"].format(new=f"{new:.3f}", old=f"{old:.3f}", version=active_version)
    return "refused", REASONS["worse"].format(new=f"{new:.3f}", old=f"{old:.3f}", version=active_version,
                                              n=candidate["eval_examples"])
