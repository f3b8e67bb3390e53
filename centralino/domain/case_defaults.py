"""The case types a fresh installation starts with (seeded on first use, app/case_types.py), in Italian and
English. Administrators change or deactivate them like any other type."""

from __future__ import annotations

from typing import Any

# One workflow serves most back-office work: new → in progress ⇄ waiting for the customer → resolved → closed,
# reopening allowed from resolved; a case may be rejected while it is not resolved.
STANDARD_WORKFLOW: dict[str, Any] = {
    "statuses": ["new", "in_progress", "waiting_customer", "resolved", "closed", "rejected"],
    "initial": "new",
    "transitions": {
        "new": ["in_progress", "rejected"],
        "in_progress": ["waiting_customer", "resolved", "rejected"],
        "waiting_customer": ["in_progress", "resolved", "rejected"],
        "resolved": ["closed", "in_progress"],
    },
    "closed": ["resolved", "closed", "rejected"],
}


def _sla(first_response_min: int, resolution_min: int, task_min: int) -> dict[str, Any]:
    return {"first_response_min": first_response_min, "resolution_min": resolution_min, "task_min": task_min,
            "warn_fraction": 0.8}


DEFAULT_CASE_TYPES: tuple[dict[str, Any], ...] = (
    {"key": "complaint", "name": {"it": "Reclamo", "en": "Complaint"}, "default_priority": "high",
     "workflow": STANDARD_WORKFLOW,
     "fields": [
         {"key": "channel_of_origin", "kind": "choice", "label": {"it": "Canale di origine", "en": "Channel of origin"},
          "options": ["whatsapp", "email", "phone", "store"]},
         {"key": "description", "kind": "text", "label": {"it": "Descrizione", "en": "Description"},
          "required": True, "min": 5, "max": 2000},
     ],
     "sla": _sla(240, 60 * 24 * 5, 60 * 16)},
    {"key": "refund", "name": {"it": "Rimborso", "en": "Refund"}, "default_priority": "normal",
     "workflow": STANDARD_WORKFLOW,
     "fields": [
         {"key": "order_number", "kind": "text", "label": {"it": "Numero d'ordine", "en": "Order number"},
          "required": True, "regex": "[A-Za-z0-9-]{4,30}"},
         {"key": "refund_amount", "kind": "number", "label": {"it": "Importo (€)", "en": "Amount (€)"},
          "required": True, "min": 0.01, "max": 100000},
         {"key": "purchase_date", "kind": "date", "label": {"it": "Data d'acquisto", "en": "Purchase date"}},
         {"key": "method", "kind": "choice", "label": {"it": "Metodo di rimborso", "en": "Refund method"},
          "options": ["card", "bank_transfer", "voucher"]},
     ],
     "sla": _sla(480, 60 * 24 * 10, 60 * 24)},
    {"key": "technical_issue", "name": {"it": "Problema tecnico", "en": "Technical issue"},
     "default_priority": "normal", "workflow": STANDARD_WORKFLOW,
     "fields": [
         {"key": "product", "kind": "text", "label": {"it": "Prodotto", "en": "Product"}, "max": 200},
         {"key": "severity", "kind": "choice", "label": {"it": "Gravità", "en": "Severity"},
          "options": ["low", "medium", "high", "blocking"], "required": True},
     ],
     "sla": _sla(120, 60 * 24 * 3, 60 * 8)},
    {"key": "change_of_address", "name": {"it": "Cambio indirizzo", "en": "Change of address"},
     "default_priority": "low", "workflow": STANDARD_WORKFLOW,
     "fields": [
         {"key": "new_address", "kind": "text", "label": {"it": "Nuovo indirizzo", "en": "New address"},
          "required": True, "min": 5, "max": 300},
         {"key": "effective_date", "kind": "date", "label": {"it": "Dal giorno", "en": "Effective from"}},
     ],
     "sla": _sla(480, 60 * 24 * 2, 60 * 8)},
)
