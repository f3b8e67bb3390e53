"""GDPR erasure (right to be forgotten): a contact's personal data removed on request, in one transaction,
while every row statistics count stays (storage/contact_erase.py says what changes in which table). Also
scrubbed: the raw webhook bodies that carried its messages, the payloads of events about it, the details of
audit entries about it, and the media files of its messages (after the commit; a file another contact's
message also uses stays). The request is recorded (who, when, why) and announced as `contact.erased`.
Administrators only, with the contact's id repeated in `confirm`."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update

from centralino.app.contact_access import check_admin, visible_contact
from centralino.app.unit_of_work import unit_of_work
from centralino.domain.access import Principal
from centralino.errors import Conflict, InvalidInput
from centralino.events.bus import EventBus
from centralino.storage import auth as auth_repo
from centralino.storage.contact_data import walk
from centralino.storage.contact_erase import ERASED, GONE, allow_audit_redaction, erase_rows
from centralino.storage.tables import (
    audit_log,
    events,
    message_media,
    message_reactions,
    messages,
    outbox,
    status_history,
    webhook_deliveries,
)
from centralino.storage.tables_campaigns import campaign_recipients
from centralino.storage.tables_contacts_admin import gdpr_requests

log = logging.getLogger(__name__)
ERASED_BODY = b'{"erased": true}'
ERASED_REASON = "contact erased"
# Event payload keys kept on an erased contact's events: ids and what statistics read.
SAFE_KEYS = {"type", "status", "previous", "from", "to", "action", "purpose", "source", "kind", "actor", "state",
             "outcome", "via", "fields", "has_media", "category", "count", "origin", "channel_kind"}


def check_erase(contact: Any, body: dict[str, Any]) -> str:
    """The reason, once the body confirms this contact; raises otherwise."""
    if body.get("confirm") != contact["id"]:
        raise InvalidInput("repeat the contact's id in `confirm` to erase it", field="confirm",
                           code="contact.erase_unconfirmed")
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 1000:
        raise InvalidInput("say why (the data subject's request, its reference): 1 to 1000 characters",
                           field="reason", code="contact.erase_reason")
    if contact["merged_into_id"] is not None:
        raise Conflict(f"contact {contact['id']} was merged into contact {contact['merged_into_id']}: erase that one",
                       field="contact_id", code="contact.merged", merged_into_id=int(contact["merged_into_id"]))
    return reason.strip()


class GdprErase:
    def __init__(self, engine: Any, bus: EventBus | None, media_dir: Path, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.bus = bus
        self.media_dir = Path(media_dir)
        self.clock = clock

    def do_erase(self, principal: Principal, contact_id: int, body: dict[str, Any]) -> dict[str, Any]:
        check_admin(principal)
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            conn = uow.conn
            reason = check_erase(visible_contact(conn, principal, contact_id), body)
            found = walk(conn, contact_id)
            files = sorted({str(m["storage_path"]) for m in found.get("message_media", []) if m.get("storage_path")})
            wa_ids = [str(i["value"]) for i in found.get("contact_identities", []) if i["kind"] == "whatsapp"]
            changed = erase_rows(conn, found)
            changed["external_ids"] = self._external_ids(conn, found)
            changed.update(self._around(conn, found, wa_ids, now))
            details = {"rows": changed, "files": len(files)}
            request_id = int(conn.execute(insert(gdpr_requests).values(
                contact_id=contact_id, kind="erase", actor=principal.actor, reason=reason, requested_at=now,
                details=details).returning(gdpr_requests.c.id)).scalar_one())
            auth_repo.audit(conn, at=now, actor_user_id=principal.user_id, actor=principal.actor,
                            action="contact.erased", target_type="contact", target_id=contact_id,
                            details={"request_id": request_id, "reason": reason})
            uow.emit("contact.erased", contact_id=contact_id, request_id=request_id, actor=principal.actor)
        details["files_deleted"] = self._delete_files(files)
        return {"request_id": request_id, "contact_id": contact_id, "details": details}

    @staticmethod
    def _external_ids(conn: Connection, found: dict[str, list[dict[str, Any]]]) -> int:
        """WhatsApp message ids encode the customer's number (base64): each is replaced by a random one, the
        same everywhere it appears (statuses, reactions, replies, the outbox), so the rows still line up."""
        fresh = {(int(m["channel_id"]), str(m["external_id"])): f"erased.{secrets.token_hex(12)}"
                 for m in found.get("messages", []) if m.get("external_id")}
        m, sh, r, o = messages.c, status_history.c, message_reactions.c, outbox.c
        for (channel_id, old), new in fresh.items():
            conn.execute(update(messages).where(m.channel_id == channel_id, m.external_id == old)
                         .values(external_id=new))
            conn.execute(update(messages).where(m.channel_id == channel_id, m.reply_to_external_id == old)
                         .values(reply_to_external_id=new))
            conn.execute(update(status_history).where(sh.channel_id == channel_id, sh.external_id == old)
                         .values(external_id=new))
            conn.execute(update(message_reactions).where(r.channel_id == channel_id, r.target_external_id == old)
                         .values(target_external_id=new))
            conn.execute(update(message_reactions).where(r.channel_id == channel_id, r.source_external_id == old)
                         .values(source_external_id=new))
            conn.execute(update(outbox).where(o.channel_id == channel_id, o.target_external_id == old)
                         .values(target_external_id=new))
        return len(fresh)

    def _around(self, conn: Connection, found: dict[str, list[dict[str, Any]]], wa_ids: list[str],
                now: datetime) -> dict[str, int]:
        """Outside the walk: raw webhook bodies, statuses of unknown messages to its number, events, audit."""
        ids = [int(c["id"]) for c in found.get("contacts", [])]
        conversation_ids = [int(c["id"]) for c in found.get("conversations", [])]
        deliveries = sorted({int(r["delivery_id"]) for name in ("messages", "provider_notices")
                             for r in found.get(name, []) if r.get("delivery_id") is not None})
        out: dict[str, int] = {}
        if deliveries:
            out["webhook_deliveries"] = int(conn.execute(update(webhook_deliveries).where(
                webhook_deliveries.c.id.in_(deliveries)).values(body=ERASED_BODY)).rowcount or 0)
        if wa_ids:
            sh = status_history.c
            conn.execute(update(status_history).where(sh.recipient_id.in_(wa_ids)).values(recipient_id=None, raw=None))
        ev = events.c
        scrubbed = 0
        about = or_(ev.payload["contact_id"].as_integer().in_(ids),
                    ev.payload["conversation_id"].as_integer().in_(conversation_ids or [-1]))
        for row in conn.execute(select(ev.id, ev.payload).where(about)).all():
            payload = {k: v for k, v in (row.payload or {}).items()
                       if k.endswith("_id") or k.endswith("_ids") or k in SAFE_KEYS}
            if payload != row.payload:
                conn.execute(update(events).where(ev.id == row.id).values(payload=payload))
                scrubbed += 1
        out["events"] = scrubbed
        # nothing more may go out to the erased address: queued sends fail, planned campaign sends are cancelled
        queued = [int(r["id"]) for r in found.get("outbox", []) if r["state"] == "queued"]
        if queued:
            o = outbox.c
            message_ids = [int(r["message_id"]) for r in found["outbox"]
                           if int(r["id"]) in queued and r["message_id"] is not None]
            conn.execute(update(outbox).where(o.id.in_(queued), o.state == "queued").values(
                state="failed", last_error=ERASED_REASON, completed_at=now))
            conn.execute(update(messages).where(messages.c.id.in_(message_ids), messages.c.status == "queued")
                         .values(status="failed", error_title=ERASED_REASON))
            out["outbox_cancelled"] = len(queued)
        cr = campaign_recipients.c
        cancelled = conn.execute(update(campaign_recipients).where(cr.contact_id.in_(ids), cr.state == "planned")
                                 .values(state="cancelled", error=ERASED_REASON))
        out["campaign_cancelled"] = int(cancelled.rowcount or 0)
        allow_audit_redaction(conn)
        out["audit_log"] = int(conn.execute(update(audit_log).where(
            audit_log.c.target_type == "contact", audit_log.c.target_id.in_([str(i) for i in ids]),
            audit_log.c.action != "contact.erased").values(details=GONE)).rowcount or 0)
        return out

    def _delete_files(self, files: list[str]) -> int:
        root, deleted = self.media_dir.resolve(), 0
        with self.engine.connect() as conn:
            shared = {str(p) for p in conn.execute(select(message_media.c.storage_path)
                                                   .where(message_media.c.storage_path.in_(files or [""]))).scalars()}
        for relative in files:
            path = (root / relative).resolve()
            if relative in shared or not path.is_relative_to(root):
                continue
            try:
                path.unlink()
                deleted += 1
            except FileNotFoundError:
                continue
            except OSError:
                log.exception("could not delete erased media %s", relative)
        return deleted


__all__ = ["ERASED", "GdprErase", "check_erase"]
