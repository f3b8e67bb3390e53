"""The bot's intents as the business manages them (docs/bot.md, "Intents and automation levels"): intents with
their automation level and threshold, examples (each held back for evaluation or not by a hash of its text),
import/export of the intents file, and the per-intent report (precision and coverage at the chosen threshold
on the eval split, and the thresholds that reach 95% and 98% precision).

Supervisors and administrators manage the bot; agents only label candidates (app/bot_learning.py)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

import yaml
from sqlalchemy import Connection, Engine

from centralino.app.bot_models import BotModels
from centralino.app.unit_of_work import UnitOfWork, unit_of_work
from centralino.domain import bot_config as rules
from centralino.domain.access import Principal, Role
from centralino.errors import Conflict, Forbidden, InvalidInput, NotFound
from centralino.events.bus import EventBus
from centralino.storage import auth as auth_repo
from centralino.storage import bot_admin as repo
from centralino.storage.tables_bot import bot_intents

PAGE_MAX = 200
TARGETS = (0.95, 0.98)
INTENT_FIELDS = ("name", "description", "automation", "threshold", "answers", "flow", "enabled")


def check_manager(principal: Principal) -> None:
    if principal.role not in (Role.ADMIN, Role.SUPERVISOR):
        raise Forbidden("the virtual agent is managed by supervisors and administrators", code="auth.role")


def check_labeller(principal: Principal) -> None:
    """Agents, supervisors and administrators label learning candidates."""
    if principal.role not in (Role.ADMIN, Role.SUPERVISOR, Role.AGENT):
        raise Forbidden("labelling candidates is for agents, supervisors and administrators", code="auth.role")


def audit(uow: UnitOfWork, principal: Principal, now: datetime, action: str, target_type: str,
          target_id: int | None, details: dict[str, Any]) -> None:
    auth_repo.audit(uow.conn, at=now, actor_user_id=principal.user_id, actor=principal.actor, action=action,
                    target_type=target_type, target_id=target_id, details=details)


def record_change(uow: UnitOfWork, principal: Principal, now: datetime, what: str, verb: str, target_id: int,
                  details: dict[str, Any]) -> None:
    """One intent, flow or service changed: audited as bot.{what}_{verb} on bot_{what}, and bot.config_changed
    (the runtime reads the configuration again)."""
    audit(uow, principal, now, f"bot.{what}_{verb}", f"bot_{what}", target_id, details)
    uow.emit("bot.config_changed", what=what, id=target_id)


def create_or_change(conn: Connection, target_id: int | None, values: dict[str, Any], now: datetime,
                     create: Callable[[Connection, dict[str, Any], datetime], int],
                     change: Callable[[Connection, int, dict[str, Any], datetime], None]) -> tuple[int, str]:
    """Create the row (target_id None) or change it; its id and the verb for record_change."""
    if target_id is None:
        return create(conn, values, now), "created"
    change(conn, target_id, values, now)
    return target_id, "updated"


class BotAdmin:
    def __init__(self, engine: Engine, bus: EventBus | None, clock: Callable[[], datetime],
                 models: BotModels) -> None:
        self.engine = engine
        self.bus = bus
        self.clock = clock
        self.models = models

    # --- intents ------------------------------------------------------------------------------------------------

    def intents(self, principal: Principal) -> list[dict[str, Any]]:
        check_labeller(principal)  # agents pick an intent when they label a candidate
        with self.engine.connect() as conn:
            return repo.intents(conn)

    def intent(self, principal: Principal, intent_id: int) -> dict[str, Any]:
        check_manager(principal)
        with self.engine.connect() as conn:
            return _found_intent(conn, intent_id)

    def do_save_intent(self, principal: Principal, body: Mapping[str, Any], intent_id: int | None = None
                       ) -> dict[str, Any]:
        """Create (intent_id None: name required) or change the fields present in `body`."""
        check_manager(principal)
        unknown = sorted(set(body) - set(INTENT_FIELDS))
        if unknown:
            raise InvalidInput(f"unknown field; the fields are {', '.join(INTENT_FIELDS)}", field=unknown[0])
        if intent_id is None and "name" not in body:
            raise InvalidInput("a name is required", field="name")
        values = _intent_values(body)
        with unit_of_work(self.engine, self.bus) as uow:
            if intent_id is not None:
                _found_intent(uow.conn, intent_id)
            if "name" in values:
                repo.check_unique_name(uow.conn, bot_intents, values["name"], intent_id, "name")
            if "flow" in body:
                values["flow_id"] = _flow_id(uow.conn, body["flow"], "flow")
            now = self.clock()
            intent_id, verb = create_or_change(uow.conn, intent_id, values, now, repo.create_intent,
                                               repo.change_intent)
            record_change(uow, principal, now, "intent", verb, intent_id, {"fields": sorted(body)})
            return _found_intent(uow.conn, intent_id)

    def do_delete_intent(self, principal: Principal, intent_id: int) -> None:
        check_manager(principal)
        with unit_of_work(self.engine, self.bus) as uow:
            found = _found_intent(uow.conn, intent_id)
            repo.delete_intent(uow.conn, intent_id)
            record_change(uow, principal, self.clock(), "intent", "deleted", intent_id, {"name": found["name"]})

    # --- examples -----------------------------------------------------------------------------------------------

    def examples(self, principal: Principal, intent_id: int, *, limit: int = 50,
                 cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        check_manager(principal)
        with self.engine.connect() as conn:
            _found_intent(conn, intent_id)
            return repo.examples_page(conn, intent_id, limit=max(1, min(limit, PAGE_MAX)), cursor=cursor)

    def do_add_example(self, principal: Principal, intent_id: int, text: Any, language: Any = None
                       ) -> dict[str, Any]:
        check_manager(principal)
        with unit_of_work(self.engine, self.bus) as uow:
            example_id = add_example(uow, intent_id, text, language, source="ui", actor=principal.actor,
                                     now=self.clock())
            found = repo.example(uow.conn, example_id)
        assert found is not None  # just inserted in this transaction
        return found

    def do_remove_example(self, principal: Principal, example_id: int) -> None:
        check_manager(principal)
        with unit_of_work(self.engine, self.bus) as uow:
            found = repo.example(uow.conn, example_id)
            if found is None:
                raise NotFound(f"no example {example_id}", field="example_id")
            repo.delete_example(uow.conn, example_id)
            uow.emit("bot.config_changed", what="example", id=example_id)

    # --- import / export ----------------------------------------------------------------------------------------

    def do_import(self, principal: Principal, source: str | Mapping[str, Any]) -> dict[str, int]:
        """The intents file (JSON or YAML), all or nothing: intents are created or updated by name (only the
        fields the file gives), new examples added; the first wrong field is named and nothing changes."""
        check_manager(principal)
        from centralino.bot.nlu.datasets import parse_intents  # the NLU library: only when used

        parsed = parse_intents(source)
        data = yaml.safe_load(source) if isinstance(source, str) else source
        raw_intents = data["intents"]  # parse_intents checked it is a non-empty list of mappings
        now, actor = self.clock(), principal.actor
        counts = {"intents_created": 0, "intents_updated": 0, "examples_added": 0, "examples_skipped": 0}
        with unit_of_work(self.engine, self.bus) as uow:
            ids = repo.intent_ids_by_name(uow.conn)
            flows = repo.flow_ids_by_name(uow.conn)
            texts = repo.existing_texts(uow.conn)
            new_rows: list[dict[str, Any]] = []
            for i, (spec, raw) in enumerate(zip(parsed.intents, raw_intents, strict=True)):
                where = f"intents[{i}]"
                values: dict[str, Any] = {"name": rules.check_name(spec.name, f"{where}.name")}
                if spec.automation is not None:
                    values["automation"] = spec.automation
                if spec.threshold is not None:
                    values["threshold"] = spec.threshold
                if raw.get("answers") is not None:
                    values["answers"] = rules.check_answers(spec.answers, f"{where}.answers")
                if raw.get("description") is not None:
                    values["description"] = rules.check_text(raw["description"], f"{where}.description",
                                                             maximum=rules.DESCRIPTION_MAX, required=False)
                if raw.get("flow") is not None:
                    if raw["flow"] not in flows:
                        raise InvalidInput(f"no flow named {raw['flow']!r}", field=f"{where}.flow")
                    values["flow_id"] = flows[raw["flow"]]
                if spec.name in ids:
                    repo.change_intent(uow.conn, ids[spec.name], values, now)
                    counts["intents_updated"] += 1
                else:
                    ids[spec.name] = repo.create_intent(uow.conn, values, now)
                    counts["intents_created"] += 1
                for j, example in enumerate(spec.examples):
                    field = f"{where}.examples[{j}]"
                    text = rules.check_example(example.text, field)
                    rules.check_language(example.language, f"{field}.language")
                    owner = texts.get(text.lower())
                    if owner == spec.name:
                        counts["examples_skipped"] += 1
                        continue
                    if owner is not None:
                        raise InvalidInput(f"already an example of intent {owner!r}", field=field)
                    texts[text.lower()] = spec.name
                    new_rows.append({"intent_id": ids[spec.name], "text": text, "language": example.language,
                                     "split": rules.eval_split(text), "source": "import", "created_by": actor[:64],
                                     "created_at": now})
            repo.add_examples(uow.conn, new_rows)
            counts["examples_added"] = len(new_rows)
            audit(uow, principal, now, "bot.intents_imported", "bot_intent", None, counts)
            uow.emit("bot.config_changed", what="import", **counts)
        return counts

    def export(self, principal: Principal, fmt: str = "yaml") -> str:
        """Every intent in the intents file format (what do_import reads back)."""
        check_manager(principal)
        if fmt not in ("yaml", "json"):
            raise InvalidInput("yaml or json", field="format")
        with self.engine.connect() as conn:
            intents = repo.intents(conn)
            examples = repo.examples_of(conn)
        languages = Counter(e["language"] for rows in examples.values() for e in rows if e["language"])
        default = languages.most_common(1)[0][0] if languages else None
        out: list[dict[str, Any]] = []
        for row in intents:
            item: dict[str, Any] = {"name": row["name"]}
            if row["description"]:
                item["description"] = row["description"]
            item |= {"automation": row["automation"], "threshold": row["threshold"]}
            if row["answers"]:
                item["answers"] = dict(row["answers"])
            if row["flow"]:
                item["flow"] = row["flow"]
            item["examples"] = [e["text"] if e["language"] == default else
                                {"text": e["text"], "language": e["language"]}
                                for e in examples.get(int(row["id"]), [])]
            out.append(item)
        document: dict[str, Any] = ({"language": default} if default else {}) | {"intents": out}
        if fmt == "json":
            return json.dumps(document, ensure_ascii=False, indent=2) + "\n"
        return str(yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=120))

    # --- the per-intent report ----------------------------------------------------------------------------------

    def report(self, principal: Principal) -> dict[str, Any]:
        """Per intent, from the active model's evaluation on the eval split: precision and coverage at the
        intent's own threshold, and the lowest thresholds that reach 95% and 98% precision."""
        check_manager(principal)
        with self.engine.connect() as conn:
            intents = repo.intents(conn)
        model = self.models.evaluation()
        evaluated = (model or {}).get("metrics", {}).get("eval") or []
        return {"version": model["version"] if model else None,
                "accuracy": (model or {}).get("metrics", {}).get("accuracy"),
                "eval_examples": len(evaluated),
                "intents": {row["name"]: intent_figures(evaluated, row["name"], float(row["threshold"]))
                            for row in intents}}


def add_example(uow: UnitOfWork, intent_id: int, text: Any, language: Any, *, source: str, actor: str,
                now: datetime) -> int:
    """Insert one example (split from its text); refused when the text is already an example of any intent."""
    clean = rules.check_example(text)
    lang = rules.check_language(language)
    _found_intent(uow.conn, intent_id)
    owner = repo.intent_with_text(uow.conn, clean)
    if owner is not None:
        raise Conflict(f"already an example of intent {owner!r}", field="text", code="bot.example_exists")
    example_id = repo.add_example(uow.conn, {"intent_id": intent_id, "text": clean, "language": lang,
                                             "split": rules.eval_split(clean), "source": source,
                                             "created_by": actor[:64]}, now)
    uow.emit("bot.config_changed", what="example", id=example_id)
    return example_id


def intent_figures(evaluated: list[list[Any]], intent: str, threshold: float) -> dict[str, Any]:
    """[gold, predicted, confidence] rows -> support, answered (messages the bot would act on as this intent),
    precision and coverage at `threshold`, and the thresholds for the TARGETS precision (None: not reachable on
    this data). Precision is None when nothing would be answered: no evidence either way."""
    from centralino.bot.nlu.evaluate import precision_coverage, threshold_for_precision
    from centralino.bot.nlu.types import Prediction

    predictions = [Prediction(intent=p, confidence=float(c), ranking=()) for _, p, c in evaluated]
    gold = [g for g, _, _ in evaluated]
    figures = precision_coverage(predictions, gold, threshold).get(intent)
    thresholds = {f"threshold_{round(t * 100)}": threshold_for_precision(predictions, gold, t, intent=intent)
                  for t in TARGETS}
    answered = sum(1 for p in predictions if p.intent == intent and p.confidence >= threshold)
    return {"support": sum(1 for g in gold if g == intent), "answered": answered, "threshold": threshold,
            "precision": figures.precision if figures and answered else None,
            "coverage": figures.coverage if figures else None, **thresholds}


def _intent_values(body: Mapping[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "name" in body:
        values["name"] = rules.check_name(body["name"])
    if "description" in body:
        values["description"] = rules.check_text(body["description"], "description", maximum=rules.DESCRIPTION_MAX,
                                                 required=False)
    if "automation" in body:
        values["automation"] = rules.check_automation(body["automation"])
    if "threshold" in body:
        values["threshold"] = rules.check_threshold(body["threshold"])
    if "answers" in body:
        values["answers"] = rules.check_answers(body["answers"])
    if "enabled" in body:
        if not isinstance(body["enabled"], bool):
            raise InvalidInput("true or false", field="enabled")
        values["enabled"] = body["enabled"]
    return values


def _flow_id(conn: Connection, value: Any, field: str) -> int | None:
    """A flow by name (or id); None/"" clears it."""
    if value is None or value == "":
        return None
    flows = repo.flow_ids_by_name(conn)
    if isinstance(value, str) and value in flows:
        return flows[value]
    if isinstance(value, int) and not isinstance(value, bool) and value in flows.values():
        return value
    raise InvalidInput(f"no flow {value!r}", field=field)


def _found_intent(conn: Connection, intent_id: int) -> dict[str, Any]:
    found = repo.intent(conn, intent_id)
    if found is None:
        raise NotFound(f"no intent {intent_id}", field="intent_id")
    return found
