"""Quick replies (canned answers with variables): personal ones per agent, shared ones managed by
supervisors (for their departments, or everyone) and administrators. Unknown variables are refused on
save; rendering fills them in for one conversation, as plain text."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from centralino.app.unit_of_work import UnitOfWork, unit_of_work
from centralino.app.visibility import check_conversation_visible
from centralino.domain import quick_replies as rules
from centralino.domain.access import Principal, Role
from centralino.errors import Forbidden, InvalidInput, NotFound
from centralino.events.bus import EventBus
from centralino.storage import auth as auth_repo
from centralino.storage import conversations as conversation_repo
from centralino.storage import queries
from centralino.storage import quick_replies as repo
from centralino.storage import users as user_repo

PICKER_LIMIT = 20


class QuickReplies:
    def __init__(self, engine: Engine, bus: EventBus | None, clock: Callable[[], datetime]) -> None:
        self.engine = engine
        self.bus = bus
        self.clock = clock

    def page(self, principal: Principal, *, q: str | None, limit: int,
             cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        with self.engine.connect() as conn:
            return repo.page(conn, principal, q=q, limit=limit, cursor=cursor)

    def get(self, principal: Principal, quick_reply_id: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            return self._usable(conn, principal, quick_reply_id)

    def _usable(self, conn: Any, principal: Principal, quick_reply_id: int) -> dict[str, Any]:
        found = repo.get(conn, quick_reply_id)
        if found is None or not _may_use(principal, found):
            raise NotFound(f"no quick reply {quick_reply_id}", field="quick_reply_id")
        return found

    def do_create(self, principal: Principal, *, title: str, shortcut: str, body: str, shared: bool,
                  department_id: int | None) -> int:
        if not shared and principal.user_id is None:
            raise InvalidInput("a personal quick reply belongs to a user: this caller has none", field="shared")
        values = {"title": rules.check_title(title), "shortcut": rules.check_shortcut(shortcut),
                  "body": rules.check_body(body), "department_id": department_id if shared else None,
                  "owner_user_id": None if shared else principal.user_id, "created_by": principal.user_id}
        _check_may_manage(principal, values)
        with unit_of_work(self.engine, self.bus) as uow:
            quick_reply_id = repo.create(uow.conn, values, self.clock())
            self._audit(uow, principal, "quick_reply.created", quick_reply_id, {"shortcut": values["shortcut"]})
        return quick_reply_id

    def do_update(self, principal: Principal, quick_reply_id: int, changes: dict[str, Any]) -> None:
        checks = {"title": rules.check_title, "shortcut": rules.check_shortcut, "body": rules.check_body}
        values = {k: checks[k](str(v)) for k, v in changes.items() if k in checks and v is not None}
        with unit_of_work(self.engine, self.bus) as uow:
            found = self._usable(uow.conn, principal, quick_reply_id)
            _check_may_manage(principal, found)
            repo.change(uow.conn, quick_reply_id, values, self.clock())
            self._audit(uow, principal, "quick_reply.updated", quick_reply_id, {"fields": sorted(values)})

    def do_delete(self, principal: Principal, quick_reply_id: int) -> None:
        with unit_of_work(self.engine, self.bus) as uow:
            found = self._usable(uow.conn, principal, quick_reply_id)
            _check_may_manage(principal, found)
            repo.remove(uow.conn, quick_reply_id)
            self._audit(uow, principal, "quick_reply.deleted", quick_reply_id, {"shortcut": found["shortcut"]})

    def for_conversation(self, principal: Principal, conversation_id: int, q: str | None) -> list[dict[str, Any]]:
        """The composer's picker: usable quick replies matching `q`, each rendered for this conversation."""
        with self.engine.connect() as conn:
            check_conversation_visible(conn, principal, conversation_id)
            contact_id = int(conversation_repo.get(conn, conversation_id)["contact_id"])
            contact = queries.get_contact(conn, contact_id) or {}
            agent = user_repo.get_user(conn, principal.user_id) if principal.user_id is not None else None
            items, _ = repo.page(conn, principal, q=q, limit=PICKER_LIMIT, cursor=None)
        context = rules.RenderContext(contact_name=contact.get("display_name"),
                                      agent_name=(agent or {}).get("display_name"),
                                      attributes=contact.get("attributes") or {})
        return [{**item, "text": rules.render(item["body"], context)} for item in items]

    def _audit(self, uow: UnitOfWork, principal: Principal, action: str, target_id: int,
               details: dict[str, Any]) -> None:
        auth_repo.audit(uow.conn, at=self.clock(), actor_user_id=principal.user_id, actor=principal.actor,
                        action=action, target_type="quick_reply", target_id=target_id, details=details)


def _may_use(principal: Principal, row: dict[str, Any]) -> bool:
    if row["owner_user_id"] is not None:
        return bool(row["owner_user_id"] == principal.user_id)
    return (principal.is_admin or row["department_id"] is None
            or row["department_id"] in principal.department_ids)


def _check_may_manage(principal: Principal, row: dict[str, Any]) -> None:
    """Personal: their owner. Shared: administrators; supervisors for everyone or their departments."""
    if row["owner_user_id"] is not None:
        if row["owner_user_id"] != principal.user_id:
            raise Forbidden("only its owner changes a personal quick reply", code="quick_reply.forbidden")
        return
    if principal.is_admin:
        return
    if principal.role is Role.SUPERVISOR and (row["department_id"] is None
                                              or row["department_id"] in principal.department_ids):
        return
    raise Forbidden("shared quick replies are managed by supervisors and administrators",
                    code="quick_reply.forbidden")
