"""Template lifecycle: drafts (linted), submission to Meta, sync from Meta with paging, deletion.

Languages of one template (same WABA and name) are managed together: they share the category, a sync or
a deletion by name covers them all, and the detail shows them side by side. Meta's own status changes
arrive as webhooks and are applied inside the inbound transaction (app/template_webhooks.py).

Writes are for supervisors and administrators (check_may_manage). A failed Graph call changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine

from centralino.app import template_webhooks
from centralino.app.channel_directory import ChannelDirectory
from centralino.app.template_webhooks import as_dict
from centralino.app.unit_of_work import UnitOfWork, unit_of_work
from centralino.channels.whatsapp import template_api
from centralino.channels.whatsapp.errors import describe
from centralino.channels.whatsapp.template_api import TemplateApiError
from centralino.domain.access import Principal, Role
from centralino.domain.template_lint import LintProblem, lint
from centralino.errors import CentralinoError, Conflict, Forbidden, InvalidInput, NotFound
from centralino.events.bus import EventBus
from centralino.storage import templates as template_repo
from centralino.storage.channels import Channel

log = logging.getLogger(__name__)

DRAFT = "draft"
EDITABLE = frozenset({DRAFT, "rejected"})  # a rejected template is fixed and submitted again
GONE = frozenset({"pending_deletion", "deleted"})  # a new draft of the same name and language may reuse the row
SYNC_PAGE = 100
# A webhook's time is Meta's clock (whole seconds), a sync's read is ours: a listing's status counts as of this
# long before the read, so a verdict that lands while the page is on its way (or stamped by a clock a little
# behind ours) stays the current status; a sync a minute later still corrects a webhook that never came.
SYNC_SKEW = timedelta(seconds=60)
NOT_FOUND_SUBCODE = 2593002  # Meta: "Message template not found"
EXISTS_SUBCODE = 2388024  # Meta: "Content in this language already exists"


def _utcnow() -> datetime:
    return datetime.now(UTC)


def check_may_manage(principal: Principal) -> None:
    if principal.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise Forbidden("only supervisors and administrators manage templates", code="template.forbidden")


@dataclass(frozen=True)
class Definition:
    """What a draft says, in Meta's shape (components with their examples)."""

    name: str
    language: str
    category: str  # lower-case
    parameter_format: str  # positional | named
    components: list[dict[str, Any]]

    def as_lintable(self) -> dict[str, Any]:
        return {"name": self.name, "language": self.language, "category": self.category,
                "parameter_format": self.parameter_format, "components": self.components}

    def for_meta(self) -> dict[str, Any]:
        return {"name": self.name, "language": self.language, "category": self.category.upper(),
                "parameter_format": self.parameter_format, "components": self.components}


@dataclass(frozen=True)
class SyncReport:
    accounts: int
    pages: int
    created: int
    updated: int
    unchanged: int


def check_definition(body: dict[str, Any]) -> Definition:
    """The shape only (types and column sizes); Meta's rules are the linter's job and do not block a draft."""
    def text(key: str, limit: int, default: str | None = None) -> str:
        value = body.get(key, default)
        if not isinstance(value, str) or not value.strip():
            raise InvalidInput(f"{key} is required", field=key, code=f"template.{key}_required")
        if len(value.strip()) > limit:
            raise InvalidInput(f"{key} has at most {limit} characters", field=key, code=f"template.{key}_too_long")
        return value.strip()

    components = body.get("components", [])
    if not isinstance(components, list) or not all(isinstance(c, dict) for c in components):
        raise InvalidInput("components must be a list of objects", field="components", code="template.components")
    parameter_format = text("parameter_format", 16, "positional").lower()
    if parameter_format not in ("positional", "named"):
        raise InvalidInput("parameter_format is positional or named", field="parameter_format",
                           code="template.parameter_format")
    return Definition(name=text("name", 512), language=text("language", 16), category=text("category", 32).lower(),
                      parameter_format=parameter_format, components=components)


def problems_of(definition: Definition) -> list[LintProblem]:
    return list(lint(definition.as_lintable()))


def problem_dicts(problems: list[LintProblem]) -> list[dict[str, str]]:
    return [{"field": p.field, "code": p.code, "message": p.message} for p in problems]


def graph_failure(exc: TemplateApiError, what: str) -> CentralinoError:
    """Meta's refusal as our error: its user-facing words, its code, and whether retrying can help."""
    known = describe(exc.code)
    message = exc.user_message or exc.user_title or exc.message
    title = exc.user_title or (known.title if known else None)
    if exc.is_transient:
        return CentralinoError(f"{what}: Meta is not answering ({exc.message}); try again", code="graph.unavailable",
                               status=502, graph_code=exc.code, graph_subcode=exc.subcode, graph_title=title)
    return InvalidInput(f"{what}: {message}", code="template.refused_by_meta", status=422, graph_code=exc.code,
                        graph_subcode=exc.subcode, graph_title=title)


class TemplateService:
    def __init__(self, engine: Engine, directory: ChannelDirectory, bus: EventBus | None, *,
                 http: httpx.Client | None = None, clock: Callable[[], datetime] = _utcnow) -> None:
        self.engine = engine
        self.directory = directory
        self.bus = bus
        self.http = http  # None: a short-lived client per call (template management is rare)
        self.clock = clock

    @classmethod
    def wired(cls, engine: Engine, directory: ChannelDirectory, bus: EventBus) -> TemplateService:
        """The service, with Meta's template webhooks applied in the inbound transaction."""
        template_webhooks.register(bus)
        return cls(engine, directory, bus)

    # --- where ------------------------------------------------------------------------------------------

    def accounts(self) -> list[str]:
        return sorted({ch.account_id for ch in self.directory.all("whatsapp") if ch.account_id})

    def check_account(self, account_id: str | None, channel_id: int | None = None) -> str:
        if channel_id is not None:
            channel = self.directory.by_id(channel_id)
            if channel is None or not channel.account_id:
                raise NotFound(f"no WhatsApp channel {channel_id}", field="channel_id")
            return channel.account_id
        known = self.accounts()
        if account_id:
            if account_id not in known:
                raise NotFound(f"no WhatsApp Business Account {account_id}", field="account_id")
            return account_id
        if len(known) != 1:
            raise InvalidInput("name the WhatsApp Business Account (account_id)", field="account_id",
                               code="template.account_required")
        return known[0]

    def channel_for(self, account_id: str) -> Channel:
        """The account's first channel: its Graph base URL and token manage the account's templates."""
        found = sorted(self.directory.by_account("whatsapp", account_id), key=lambda ch: ch.id)
        if not found:
            raise NotFound(f"no channel of WhatsApp Business Account {account_id}", field="account_id")
        return found[0]

    def _get(self, uow: UnitOfWork, template_id: int) -> dict[str, Any]:
        row = template_repo.get(uow.conn, template_id)
        if row is None:
            raise NotFound(f"no template {template_id}", field="template_id")
        return row

    def _updated(self, uow: UnitOfWork, row: dict[str, Any], kind: str, **extra: Any) -> None:
        uow.emit("template.updated", id=int(row["id"]), account_id=row["account_id"], name=row["name"],
                 language=row["language"], kind=kind, **extra)

    # --- drafts -----------------------------------------------------------------------------------------

    def do_create_draft(self, principal: Principal, body: dict[str, Any]) -> tuple[dict[str, Any], list[LintProblem]]:
        check_may_manage(principal)
        definition = check_definition(body)
        account_id = self.check_account(body.get("account_id"), body.get("channel_id"))
        problems = problems_of(definition)
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            self._check_category_of_siblings(uow, account_id, definition)
            existing = template_repo.find(uow.conn, account_id, definition.name, definition.language)
            values = {"category": definition.category, "parameter_format": definition.parameter_format,
                      "components": definition.components, "status": DRAFT, "status_reason": None, "quality": None,
                      "provider_id": None, "submitted_at": None, "status_at": None, "updated_at": now}
            if existing is None:
                template_id = template_repo.insert_template(uow.conn, {
                    **values, "account_id": account_id, "name": definition.name, "language": definition.language,
                    "created_by": principal.user_id, "created_at": now})
            elif existing["status"] in GONE:  # the name comes back after a deletion: same row, history kept
                template_id = int(existing["id"])
                template_repo.update_template(uow.conn, template_id, values)
            else:
                raise Conflict(f"template {definition.name} already exists in {definition.language}", field="name",
                               code="template.exists", template_id=int(existing["id"]))
            template_repo.append_event(uow.conn, template_id, kind="created", status=DRAFT,
                                       detail={"problems": len(problems)}, actor=principal.actor, at=now)
            row = self._get(uow, template_id)
            self._updated(uow, row, "created", status=DRAFT)
        return row, problems

    def do_edit_draft(self, principal: Principal, template_id: int,
                      body: dict[str, Any]) -> tuple[dict[str, Any], list[LintProblem]]:
        """Replace what a draft (or a rejected template) says; name, language and account stay."""
        check_may_manage(principal)
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            row = self._get(uow, template_id)
            if row["status"] not in EDITABLE:
                raise Conflict(f"a template {row['status']} by Meta cannot be edited here: add a new template or "
                               "language", field="status", code="template.not_editable")
            definition = check_definition({"name": row["name"], "language": row["language"],
                                           "category": row["category"], "parameter_format": row["parameter_format"],
                                           "components": row["components"],
                                           **{k: v for k, v in body.items() if k not in ("name", "language")}})
            self._check_category_of_siblings(uow, row["account_id"], definition, but=template_id)
            problems = problems_of(definition)
            template_repo.update_template(uow.conn, template_id, {
                "category": definition.category, "parameter_format": definition.parameter_format,
                "components": definition.components, "updated_at": now})
            template_repo.append_event(uow.conn, template_id, kind="edited", status=row["status"],
                                       detail={"problems": len(problems)}, actor=principal.actor, at=now)
            row = self._get(uow, template_id)
            self._updated(uow, row, "edited", status=row["status"])
        return row, problems

    def _check_category_of_siblings(self, uow: UnitOfWork, account_id: str, definition: Definition,
                                    but: int | None = None) -> None:
        for sibling in template_repo.languages_of(uow.conn, account_id, definition.name):
            if sibling["id"] != but and sibling["status"] not in GONE and sibling["category"] != definition.category:
                raise InvalidInput(f"the other languages of {definition.name} are {sibling['category']}: every "
                                   "language of a template has the same category", field="category",
                                   code="template.category_mismatch")

    # --- submission -------------------------------------------------------------------------------------

    def do_submit(self, principal: Principal, template_id: int) -> dict[str, Any]:
        """Send the draft to Meta for review (a rejected one again, after its fixes): status `pending`; the
        verdict arrives as a webhook. Refused with the linter's problems (422) before anything is sent."""
        check_may_manage(principal)
        with self.engine.connect() as conn:
            row = template_repo.get(conn, template_id)
        if row is None:
            raise NotFound(f"no template {template_id}", field="template_id")
        if row["status"] not in EDITABLE:
            raise Conflict(f"template {row['name']} ({row['language']}) is {row['status']}: only drafts and "
                           "rejected templates are submitted", field="status", code="template.not_submittable")
        definition = check_definition(row)
        problems = problems_of(definition)
        if problems:
            raise InvalidInput(f"{len(problems)} problem(s) to fix before submitting: {problems[0].message}",
                               field=problems[0].field, code="template.lint_failed", status=422,
                               problems=problem_dicts(problems))
        channel = self.channel_for(row["account_id"])
        try:
            if row["provider_id"]:  # Meta still holds the rejected version: replace it
                self._delete_at_meta(channel, row["name"], str(row["provider_id"]))
            answer = template_api.create(channel, definition.for_meta(), self.http)
        except TemplateApiError as exc:
            if exc.subcode == EXISTS_SUBCODE and self._adopt(channel, row, principal.actor):
                return self._row(template_id)  # submitted before, its answer lost (a crash): Meta's copy adopted
            raise graph_failure(exc, "Meta refused the template") from exc
        now = self.clock()
        status = str(answer.get("status") or "pending").lower()
        with unit_of_work(self.engine, self.bus) as uow:
            template_repo.update_template(uow.conn, template_id, {
                "provider_id": str(answer.get("id") or "") or None, "submitted_at": now, "updated_at": now,
                "category": str(answer.get("category") or definition.category).lower()})
            # The verdict's webhook may already be in (a fast review): never overwrite it with `pending`.
            template_repo.update_if_unchanged(uow.conn, template_id, row["status"], row["status_at"], {
                "status": status, "status_reason": None, "status_at": None})
            template_repo.append_event(uow.conn, template_id, kind="submitted", status=status,
                                       detail={"provider_id": answer.get("id")}, actor=principal.actor, at=now)
            row = self._get(uow, template_id)
            self._updated(uow, row, "submitted", status=row["status"])
        return row

    def _adopt(self, channel: Channel, row: dict[str, Any], actor: str) -> bool:
        """Meta already has this name and language: take its id, status and content (as a sync would)."""
        after: str | None = None
        while True:
            read_at = self.clock()
            try:
                page = template_api.list_page(channel, name=row["name"], after=after, client=self.http)
            except TemplateApiError:
                return False  # the caller reports Meta's original refusal
            for item in page.items:
                if item.get("name") == row["name"] and item.get("language") == row["language"]:
                    with unit_of_work(self.engine, self.bus) as uow:
                        self._apply_synced(uow, row["account_id"], item, actor, read_at)
                    return True
            if page.after is None:
                return False
            after = page.after

    def _row(self, template_id: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = template_repo.get(conn, template_id)
        if row is None:
            raise NotFound(f"no template {template_id}", field="template_id")
        return row

    def _delete_at_meta(self, channel: Channel, name: str, hsm_id: str | None) -> None:
        try:
            template_api.delete(channel, name, hsm_id, self.http)
        except TemplateApiError as exc:
            if exc.subcode != NOT_FOUND_SUBCODE:
                raise

    # --- deletion ---------------------------------------------------------------------------------------

    def do_delete(self, principal: Principal, template_id: int, *, all_languages: bool = False) -> list[int]:
        """A draft is forgotten; a submitted template is deleted at Meta (every language of the name, or
        this one) and kept here as `pending_deletion` with its history. The ids affected."""
        check_may_manage(principal)
        with self.engine.connect() as conn:
            row = template_repo.get(conn, template_id)
            if row is None:
                raise NotFound(f"no template {template_id}", field="template_id")
            doomed = (template_repo.languages_of(conn, row["account_id"], row["name"]) if all_languages else [row])
        submitted = [r for r in doomed if r["provider_id"] and r["status"] not in GONE]
        if submitted:
            channel = self.channel_for(row["account_id"])
            try:
                if all_languages:
                    self._delete_at_meta(channel, row["name"], None)
                else:
                    self._delete_at_meta(channel, row["name"], str(row["provider_id"]))
            except TemplateApiError as exc:
                raise graph_failure(exc, "Meta did not delete the template") from exc
        now = self.clock()
        with unit_of_work(self.engine, self.bus) as uow:
            for r in doomed:
                if r["provider_id"] is None:
                    template_repo.delete_template(uow.conn, int(r["id"]))
                elif r["status"] not in GONE:
                    template_repo.update_template(uow.conn, int(r["id"]), {"status": "pending_deletion",
                                                                          "updated_at": now})
                    template_repo.append_event(uow.conn, int(r["id"]), kind="deleted", status="pending_deletion",
                                               detail={"all_languages": all_languages}, actor=principal.actor, at=now)
                self._updated(uow, r, "deleted", status="deleted" if r["provider_id"] is None else "pending_deletion")
        return [int(r["id"]) for r in doomed]

    # --- sync -------------------------------------------------------------------------------------------

    def do_sync(self, principal: Principal | None, account_id: str | None = None, *,
                page_size: int = SYNC_PAGE) -> SyncReport:
        """Read every template of the account(s) from Meta, page by page (one transaction per page), and
        store what Meta says: new ones are added, known ones take Meta's status, quality and content."""
        if principal is not None:
            check_may_manage(principal)
        accounts = [self.check_account(account_id)] if account_id else self.accounts()
        actor = principal.actor if principal is not None else "sync"
        pages = created = updated = unchanged = 0
        for account in accounts:
            channel = self.channel_for(account)
            after: str | None = None
            while True:
                read_at = self.clock()
                try:
                    page = template_api.list_page(channel, limit=page_size, after=after, client=self.http)
                except TemplateApiError as exc:
                    raise graph_failure(exc, f"reading the templates of {account}") from exc
                pages += 1
                with unit_of_work(self.engine, self.bus) as uow:
                    for item in page.items:
                        outcome = self._apply_synced(uow, account, item, actor, read_at)
                        created += outcome == "created"
                        updated += outcome == "updated"
                        unchanged += outcome == "unchanged"
                if page.after is None:
                    break
                after = page.after
        return SyncReport(accounts=len(accounts), pages=pages, created=created, updated=updated, unchanged=unchanged)

    def _apply_synced(self, uow: UnitOfWork, account_id: str, item: dict[str, Any], actor: str,
                      read_at: datetime) -> str:
        """Store one template as Meta listed it when asked at `read_at`. Its status counts as of SYNC_SKEW
        before the read: a status webhook stamped since then keeps the status (the sync takes the rest)."""
        name, language = item.get("name"), item.get("language")
        if not isinstance(name, str) or not isinstance(language, str):
            return "skipped"
        now = self.clock()
        status = str(item.get("status") or "unknown").lower()
        reason = item.get("rejected_reason")
        quality = as_dict(item.get("quality_score"))
        values: dict[str, Any] = {
            "account_id": account_id, "name": name, "language": language,
            "category": str(item.get("category") or "utility").lower(),
            "parameter_format": str(item.get("parameter_format") or "positional").lower(),
            "components": item.get("components") if isinstance(item.get("components"), list) else [],
            "status": status, "status_reason": reason if reason and reason != "NONE" else None,
            "quality": str(quality.get("score")).lower() if quality.get("score") else None,
            "provider_id": str(item["id"]) if item.get("id") else None, "updated_at": now,
            "created_at": now, "created_by": None,
        }
        before = template_repo.find(uow.conn, account_id, name, language)
        as_of = read_at.replace(microsecond=0) - SYNC_SKEW
        if before is not None and before["status_at"] is not None and before["status_at"] >= as_of:
            values["status"], values["status_reason"] = before["status"], before["status_reason"]
            status = str(before["status"])
        if before is not None and all(before.get(k) == values[k] for k in
                                      ("category", "parameter_format", "components", "status", "status_reason",
                                       "quality", "provider_id")):
            return "unchanged"
        if before is None or before["status"] != status:
            values["status_at"] = as_of
        template_id, before = template_repo.upsert(uow.conn, values)
        template_repo.append_event(uow.conn, template_id, kind="synced", status=status, detail={
            "previous": before["status"] if before else None, "reason": values["status_reason"],
            "quality": values["quality"]}, actor=actor, at=now)
        row = self._get(uow, template_id)
        self._updated(uow, row, "synced", status=status)
        return "created" if before is None else "updated"
