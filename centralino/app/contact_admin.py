"""Contact administration, wired once (services.contact_admin): duplicates, merge, CSV import/export, GDPR
export and erasure, retention (docs/contacts.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from centralino.app import contact_duplicates
from centralino.app.consent import ConsentService
from centralino.app.contact_access import check_admin
from centralino.app.contact_export import ContactExport
from centralino.app.contact_import import ContactImports
from centralino.app.contact_merge import ContactMerger, install_merge_follower
from centralino.app.gdpr_erase import GdprErase
from centralino.app.gdpr_export import GdprExport
from centralino.app.retention import Retention
from centralino.config import Settings
from centralino.domain.access import Principal
from centralino.events.bus import EventBus
from centralino.storage.tables_contacts_admin import gdpr_requests


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class ContactAdmin:
    engine: Any
    merger: ContactMerger
    imports: ContactImports
    export: ContactExport
    gdpr_export: GdprExport
    gdpr_erase: GdprErase
    retention: Retention

    def gdpr_requests(self, principal: Principal, limit: int = 50) -> list[dict[str, Any]]:
        """The record of GDPR requests, newest first (administrators)."""
        check_admin(principal)
        g = gdpr_requests.c
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(gdpr_requests).order_by(g.id.desc()).limit(limit)).mappings()]

    def duplicates(self, principal: Principal, limit: int = 50,
                   cursor: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        with self.engine.connect() as conn:
            return contact_duplicates.candidates(conn, principal, limit=limit, cursor=cursor)


def install_contact_admin(settings: Settings, engine: Any, bus: EventBus, consent: ConsentService | None,
                          clock: Callable[[], datetime] = _utcnow) -> ContactAdmin:
    media = settings.media_dir
    install_merge_follower(bus, clock)
    return ContactAdmin(engine=engine, merger=ContactMerger(engine, bus, clock),
                        imports=ContactImports(engine, bus, clock), export=ContactExport(engine, consent),
                        gdpr_export=GdprExport(engine, bus, media, clock),
                        gdpr_erase=GdprErase(engine, bus, media, clock), retention=Retention(engine, bus, media, clock))
