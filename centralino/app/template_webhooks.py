"""Meta's template webhooks applied inside the inbound transaction (in-transaction listeners): a status,
quality or category change is never lost between the webhook's commit and a listener.

Every change is appended to the template's history. The current status follows the newest webhook by
Meta's own timestamp (entry.time), so a late redelivery of an older change never overwrites a newer one;
equal timestamps: the later arrival wins. Statuses are Meta's, lower-cased (approved, paused, disabled …);
REINSTATED makes a template sendable again, so its current status is `approved` (history keeps the event).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from centralino.app.unit_of_work import UnitOfWork
from centralino.events.bus import Event, EventBus
from centralino.storage import templates as template_repo

log = logging.getLogger(__name__)

EFFECTIVE = {"reinstated": "approved", "unarchived": "approved"}
OLD_INCARNATION = frozenset({"pending_deletion", "deleted"})


def register(bus: EventBus) -> None:
    bus.subscribe_in_transaction("template.status_changed", on_status)
    bus.subscribe_in_transaction("provider.template_quality", on_quality)
    bus.subscribe_in_transaction("provider.template_category", on_category)


def _at(value: Any, fallback: datetime) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        except ValueError:
            pass
    return fallback


def as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _none_if_none(value: Any) -> str | None:
    return str(value) if value not in (None, "", "NONE") else None


def reason_text(status: str, reason: str | None, data: dict[str, Any]) -> str | None:
    """What the desk shows beside the status: the rejection reason and Meta's recommendation, or why a
    template was paused or disabled."""
    rejection = as_dict(data.get("rejection_info"))
    other = as_dict(data.get("other_info"))
    disable = as_dict(data.get("disable_info"))
    parts = [p for p in (reason, rejection.get("recommendation")) if p]
    if status in ("paused", "disabled", "flagged") and other:
        parts.extend(str(p) for p in (other.get("title"), other.get("description")) if p)
    if status == "disabled" and disable.get("disable_date"):
        parts.append(f"disabled on {disable['disable_date']}")
    return ": ".join(dict.fromkeys(str(p) for p in parts)) or None


def _template_for(uow: UnitOfWork, account_id: str | None, provider_id: str | None, name: str | None,
                  language: str | None, status: str | None = None) -> dict[str, Any] | None:
    if provider_id:
        found = template_repo.find_by_provider_id(uow.conn, provider_id)
        if found is not None:
            return found
    if not (account_id and name and language):
        return None
    found = template_repo.find(uow.conn, account_id, name, language)
    if found is None:
        return None
    if found["provider_id"] and provider_id and str(found["provider_id"]) != provider_id:
        return None  # another incarnation of the name (deleted and created again)
    if found["provider_id"] is None and status in OLD_INCARNATION:
        return None  # the deletion of an earlier one; this row is a new draft
    return found


def on_status(uow: UnitOfWork, event: Event) -> None:
    p = event.payload
    raw = str(p.get("raw_event") or p.get("status") or "unknown").lower()[:32]
    status = EFFECTIVE.get(raw, raw)
    data = as_dict(p.get("data"))
    at = _at(p.get("at"), event.occurred_at)
    provider_id = str(p["template_id"]) if p.get("template_id") is not None else None
    account_id = p.get("account_id")
    row = _template_for(uow, account_id, provider_id, p.get("name"), p.get("language"), raw)
    now = datetime.now(UTC)
    if row is None:
        if not (account_id and p.get("name") and p.get("language")) or len(str(p["name"])) > 512 \
                or len(str(p["language"])) > 16:
            return  # nothing to attach it to (or not a name Meta allows); the raw notice stays in provider_notices
        # A template made outside Centralino (Meta's manager): known from now on, its content by the next sync.
        template_id = template_repo.insert_template(uow.conn, {
            "account_id": account_id, "name": p["name"], "language": p["language"],
            "category": str(data.get("message_template_category") or "utility").lower()[:32],
            "parameter_format": "positional", "components": [], "status": "unknown", "provider_id": provider_id,
            "created_at": now, "updated_at": now})
        row = template_repo.get(uow.conn, template_id)
        assert row is not None
    reason = reason_text(status, _none_if_none(p.get("reason")), data)
    newer = row["status_at"] is None or at >= row["status_at"]
    template_repo.append_event(uow.conn, int(row["id"]), kind="status", status=raw, detail={
        "reason": reason, "previous": row["status"], "applied": newer, "event": data}, actor="meta", at=at)
    if not newer:
        log.info("template %s: %s of %s is older than the current %s; history only", row["id"], raw, at,
                 row["status"])
        return
    changes: dict[str, Any] = {"status": status, "status_reason": reason, "status_at": at, "updated_at": now}
    if provider_id and not row["provider_id"]:
        changes["provider_id"] = provider_id
    template_repo.update_template(uow.conn, int(row["id"]), changes)
    uow.emit("template.updated", id=int(row["id"]), account_id=row["account_id"], name=row["name"],
             language=row["language"], kind="status", status=status, previous=row["status"], reason=reason)


def _notice_template(uow: UnitOfWork, event: Event) -> tuple[dict[str, Any], dict[str, Any]] | None:
    p = event.payload
    data = as_dict(p.get("data"))
    template_id = data.get("message_template_id")
    row = _template_for(uow, p.get("account_id"), str(template_id) if template_id is not None else None,
                        data.get("message_template_name"), data.get("message_template_language"))
    return (row, data) if row is not None else None


def on_quality(uow: UnitOfWork, event: Event) -> None:
    found = _notice_template(uow, event)
    if found is None:
        return
    row, data = found
    quality = str(data.get("new_quality_score") or "unknown").lower()[:32]
    now = datetime.now(UTC)
    template_repo.append_event(uow.conn, int(row["id"]), kind="quality", status=row["status"], detail={
        "quality": quality, "previous": row["quality"]}, actor="meta", at=event.occurred_at)
    template_repo.update_template(uow.conn, int(row["id"]), {"quality": quality, "updated_at": now})
    uow.emit("template.updated", id=int(row["id"]), account_id=row["account_id"], name=row["name"],
             language=row["language"], kind="quality", status=row["status"], quality=quality)


def on_category(uow: UnitOfWork, event: Event) -> None:
    found = _notice_template(uow, event)
    if found is None:
        return
    row, data = found
    category = data.get("new_category") or data.get("correct_category")
    if not category:
        return
    category = str(category).lower()[:32]
    now = datetime.now(UTC)
    template_repo.append_event(uow.conn, int(row["id"]), kind="category", status=row["status"], detail={
        "category": category, "previous": row["category"]}, actor="meta", at=event.occurred_at)
    template_repo.update_template(uow.conn, int(row["id"]), {"category": category, "updated_at": now})
    uow.emit("template.updated", id=int(row["id"]), account_id=row["account_id"], name=row["name"],
             language=row["language"], kind="category", status=row["status"], category=category)
