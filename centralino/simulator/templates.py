"""The WABAs' message templates: create, review, list, delete, and Meta's template webhooks."""

from __future__ import annotations

import base64
import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from starlette.datastructures import URL

from centralino.simulator import payloads, template_rules
from centralino.simulator.errors import GraphError
from centralino.simulator.ids import numeric_id
from centralino.simulator.state import TemplateRecord

if TYPE_CHECKING:
    from centralino.simulator.app import Simulator

STATUSES = frozenset({"PENDING", "APPROVED", "REJECTED", "PAUSED", "DISABLED", "FLAGGED", "IN_APPEAL",
                      "REINSTATED", "ARCHIVED", "LIMIT_EXCEEDED", "LOCKED"})
QUALITIES = frozenset({"GREEN", "YELLOW", "RED", "UNKNOWN"})
DEFAULT_FIELDS = ("name", "parameter_format", "components", "language", "status", "category", "id")
NAME_BLOCKED_SECONDS = 30 * 24 * 3600


def seed(sim: Simulator) -> None:
    """The configured templates, APPROVED, in every WABA of the configured numbers."""
    for waba_id in dict.fromkeys(n.waba_id for n in sim.config.numbers):
        for spec in sim.config.templates:
            add(sim, waba_id, spec, status="APPROVED")


def add(sim: Simulator, waba_id: str, body: Any, *, status: str = "PENDING") -> TemplateRecord:
    """Validate like Meta and store (a copy); raises GraphError for a refused creation."""
    draft = template_rules.validate_create(copy.deepcopy(body))
    if sim.state.find_template(waba_id, draft.name, draft.language) is not None:
        raise GraphError(100, f"Content in {draft.language} already exists for template {draft.name}.",
                         subcode=2388024, user_title="Content in this language already exists")
    deleted_at = sim.state.deleted_template_names.get((waba_id, draft.name))
    if deleted_at is not None and sim.clock() - deleted_at < NAME_BLOCKED_SECONDS:
        raise GraphError(100, f"The name {draft.name} was used by a deleted template: it can be reused 30 days "
                              "after the deletion.", subcode=2388023, user_title="Message template is being deleted")
    template_id = numeric_id()
    while template_id in sim.state.templates:
        template_id = numeric_id()
    record = TemplateRecord(id=template_id, waba_id=waba_id, name=draft.name, language=draft.language,
                            category=draft.category, components=draft.components,
                            parameter_format=draft.parameter_format, status=status, created_at=sim.clock(),
                            quality="GREEN" if status == "APPROVED" else "UNKNOWN")
    sim.state.templates[template_id] = record
    return record


def create(sim: Simulator, waba_id: str, body: Any) -> dict[str, Any]:
    """`POST /{waba}/message_templates`: PENDING, reviewed after the configured delay."""
    record = add(sim, waba_id, body)
    if sim.config.template_review_delay is not None:
        sim.dispatcher.later(sim.config.template_review_delay, lambda: review(sim, record))
    return {"id": record.id, "status": record.status, "category": record.category}


def review(sim: Simulator, record: TemplateRecord) -> None:
    if record.status != "PENDING" or sim.state.templates.get(record.id) is not record:
        return
    draft = template_rules.TemplateDraft(record.name, record.language, record.category, record.parameter_format,
                                         record.components)
    verdict = template_rules.review(draft)
    extra = {"rejection_info": {"reason": verdict.reason, "recommendation": verdict.recommendation}} \
        if verdict.reason == "INVALID_FORMAT" else {}
    set_status(sim, record, verdict.status, verdict.reason, **extra)


def set_status(sim: Simulator, record: TemplateRecord, status: str, reason: str | None = "NONE",
               **extra: Any) -> None:
    """Change the status and send `message_template_status_update` (pauses and disables like Meta's)."""
    status = status.upper()
    if status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(sorted(STATUSES))}")
    previous = record.status
    record.status = status
    record.reason = reason if status == "REJECTED" else None
    if status == "PAUSED":
        record.pauses += 1
        extra.setdefault("other_info", {"title": "FIRST_PAUSE" if record.pauses == 1 else "SECOND_PAUSE",
                                        "description": "Your template has been paused because of low quality."})
    elif status == "DISABLED":
        extra.setdefault("disable_info", {"disable_date": sim.now()})
    elif status == "APPROVED" and previous == "PAUSED":
        extra.setdefault("other_info", {"title": "UNPAUSE", "description": "Your template is no longer paused."})
    value = {"event": status, "message_template_id": int(record.id), "message_template_name": record.name,
             "message_template_language": record.language, "reason": reason,
             "message_template_category": record.category, **extra}
    _account_webhook(sim, record.waba_id, "message_template_status_update", value)


def set_category(sim: Simulator, record: TemplateRecord, category: str) -> None:
    category = category.upper()
    if category not in template_rules.CATEGORIES:
        raise ValueError(f"category must be one of {', '.join(sorted(template_rules.CATEGORIES))}")
    previous, record.category = record.category, category
    _account_webhook(sim, record.waba_id, "template_category_update", {
        "message_template_id": int(record.id), "message_template_name": record.name,
        "message_template_language": record.language, "previous_category": previous, "new_category": category})


def set_quality(sim: Simulator, record: TemplateRecord, quality: str) -> None:
    """New quality score; RED pauses an approved template (first and second time), then disables it."""
    quality = quality.upper()
    if quality not in QUALITIES:
        raise ValueError(f"quality must be one of {', '.join(sorted(QUALITIES))}")
    previous, record.quality = record.quality, quality
    _account_webhook(sim, record.waba_id, "message_template_quality_update", {
        "previous_quality_score": previous, "new_quality_score": quality, "message_template_id": int(record.id),
        "message_template_name": record.name, "message_template_language": record.language})
    if quality == "RED" and record.status == "APPROVED":
        set_status(sim, record, "DISABLED" if record.pauses >= 2 else "PAUSED", "NONE")


def _account_webhook(sim: Simulator, waba_id: str, field_name: str, value: dict[str, Any]) -> None:
    sim.emit_to_waba(waba_id, payloads.account_envelope(waba_id, field_name, value, sim.now()))


def describe(record: TemplateRecord, fields: list[str] | tuple[str, ...] = DEFAULT_FIELDS) -> dict[str, Any]:
    every = {"id": record.id, "name": record.name, "language": record.language, "status": record.status,
             "category": record.category, "components": record.components,
             "parameter_format": record.parameter_format,
             "quality_score": {"score": record.quality, "date": int(record.created_at)},
             "rejected_reason": record.reason or "NONE"}
    return {key: every[key] for key in (*fields, "id") if key in every}


def listing(sim: Simulator, waba_id: str, query: Mapping[str, str], url: URL) -> dict[str, Any]:
    """`GET /{waba}/message_templates` with fields, status/name/language/category filters and cursors."""
    fields = [f.strip() for f in query.get("fields", "").split(",") if f.strip()] or list(DEFAULT_FIELDS)
    found = sim.state.templates_of(waba_id)  # in creation order
    if query.get("status"):
        wanted = {s.strip().upper() for s in query["status"].split(",")}
        found = [t for t in found if t.status in wanted]
    if query.get("name"):
        found = [t for t in found if query["name"].lower() in t.name]
    if query.get("language"):
        found = [t for t in found if t.language == query["language"]]
    if query.get("category"):
        found = [t for t in found if t.category == query["category"].upper()]
    try:
        limit = max(1, min(int(query.get("limit", 25)), 1000))
    except ValueError:
        raise GraphError(100, "Param limit must be an integer.") from None
    start = _cursor_position(query.get("after"), +1)
    page = found[start:start + limit]
    result: dict[str, Any] = {"data": [describe(t, fields) for t in page]}
    if page:
        before, after = _cursor(start), _cursor(start + len(page) - 1)
        result["paging"] = {"cursors": {"before": before, "after": after}}
        if start + len(page) < len(found):
            result["paging"]["next"] = str(url.include_query_params(after=after))
    return result


def _cursor(position: int) -> str:
    return base64.urlsafe_b64encode(f"pos:{position}".encode()).decode().rstrip("=")


def _cursor_position(cursor: str | None, step: int) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return int(text.removeprefix("pos:")) + step
    except ValueError:
        raise GraphError(100, "Param after is not a valid cursor.") from None


def delete(sim: Simulator, waba_id: str, name: str | None, hsm_id: str | None) -> dict[str, Any]:
    """`DELETE /{waba}/message_templates?name=` (every language) or `&hsm_id=` (one)."""
    if not name:
        raise GraphError(100, "The parameter name is required.")
    doomed = [t for t in sim.state.templates_of(waba_id) if t.name == name and hsm_id in (None, t.id)]
    if not doomed:
        raise GraphError(100, f"Message template {name} not found.", subcode=2593002,
                         user_title="Message template not found")
    for record in doomed:
        del sim.state.templates[record.id]
        if record.status in ("APPROVED", "PAUSED", "DISABLED"):
            sim.state.deleted_template_names[(waba_id, name)] = sim.clock()
        value = {"event": "PENDING_DELETION", "message_template_id": int(record.id),
                 "message_template_name": record.name, "message_template_language": record.language,
                 "reason": None, "message_template_category": record.category}
        _account_webhook(sim, waba_id, "message_template_status_update", value)
    return {"success": True}
