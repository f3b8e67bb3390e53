"""Helpers for the notifications tests: the use cases' approved templates, Meta-shaped (examples included), stored
on our side (the templates table) and, for the tests over HTTP, at the simulator too (it refuses sends of
templates it does not have)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert

from centralino.storage.tables_templates import templates
from tests.factories import WABA

HANDLE = "4::aW1hZ2UvcG5n:ARb-example-handle"

TEMPLATES: dict[str, dict[str, Any]] = {
    "boarding_pass": {"category": "UTILITY", "parameter_format": "POSITIONAL", "components": [
        {"type": "HEADER", "format": "DOCUMENT", "example": {"header_handle": [HANDLE]}},
        {"type": "BODY", "text": "Ciao {{1}}, ecco la carta d'imbarco del volo {{2}}. Buon viaggio!",
         "example": {"body_text": [["Anna", "AZ610"]]}}]},
    "store_location": {"category": "UTILITY", "parameter_format": "POSITIONAL", "components": [
        {"type": "HEADER", "format": "LOCATION"},
        {"type": "BODY", "text": "Il tuo ordine ti aspetta al negozio {{1}} fino alle 20.",
         "example": {"body_text": [["Milano Duomo"]]}}]},
    "support_video": {"category": "UTILITY", "parameter_format": "POSITIONAL", "components": [
        {"type": "HEADER", "format": "VIDEO", "example": {"header_handle": [HANDLE]}},
        {"type": "BODY", "text": "Ecco come configurare il tuo {{1}} in due minuti.",
         "example": {"body_text": [["router"]]}}]},
    "shipment_update": {"category": "UTILITY", "parameter_format": "NAMED", "components": [
        {"type": "BODY", "text": "Il tuo ordine {{order_id}} è {{status}}. Grazie per l'attesa.",
         "example": {"body_text_named_params": [{"param_name": "order_id", "example": "A-1"},
                                                {"param_name": "status", "example": "in consegna"}]}},
        {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Traccia", "url": "https://example.com/t/{{1}}",
                                         "example": ["https://example.com/t/A-1"]}]}]},
    "verification_code": {"category": "AUTHENTICATION", "parameter_format": "POSITIONAL", "components": [
        {"type": "BODY", "text": "*{{1}}* è il tuo codice di verifica.", "example": {"body_text": [["123456"]]}},
        {"type": "BUTTONS", "buttons": [{"type": "OTP", "otp_type": "COPY_CODE", "text": "Copia codice"}]}]},
}


def add_templates(services: Any, *names: str, language: str = "it", account: str = WABA) -> dict[str, int]:
    """Approved, on our side."""
    now = datetime.now(UTC)
    ids = {}
    with services.engine.begin() as conn:
        for name in names or tuple(TEMPLATES):
            spec = TEMPLATES[name]
            ids[name] = int(conn.execute(insert(templates).values(
                account_id=account, name=name, language=language, category=spec["category"].lower(),
                parameter_format=spec["parameter_format"].lower(), components=copy.deepcopy(spec["components"]),
                status="approved", created_at=now, updated_at=now).returning(templates.c.id)).scalar_one())
    return ids


def add_at_simulator(sim: Any, *names: str, language: str = "it", account: str = WABA) -> None:
    """Approved at Meta's side (the simulator) as well."""
    from centralino.simulator import templates as sim_templates

    for name in names or tuple(TEMPLATES):
        spec = TEMPLATES[name]
        sim_templates.add(sim, account, {"name": name, "language": language, **copy.deepcopy(spec)},
                          status="APPROVED")
