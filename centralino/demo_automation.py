"""The demo's customer case updates (docs/cases.md, Customer updates): every default case type tells the
customer when their case is taken in hand and when it is resolved — in their language while their 24-hour
window is open (the demo's customers are chatting); no template is configured, so outside the window the
update is recorded as skipped (window.closed). Seeded once, through the same use case as the API."""

from __future__ import annotations

from centralino.errors import CentralinoError
from centralino.services import Services

STATUSES = ["in_progress", "resolved"]
TEXTS = {"in_progress": {"it": "Abbiamo preso in carico la sua pratica {number}: ora è {status}.",
                         "en": "We have taken your case {number} in hand: it is now {status}."},
         "resolved": {"it": "La sua pratica {number} è {status}. Ci scriva se serve altro.",
                      "en": "Your case {number} is {status}. Write to us if you need anything else."}}
CASE_TYPES = ("complaint", "refund", "technical_issue", "change_of_address")


def ensure_demo_case_updates(services: Services) -> int:
    """Settings for the default case types that have none yet; how many were saved."""
    updates = services.case_updates
    if updates is None:
        return 0
    have = {s["case_type"] for s in updates.settings()}
    saved = 0
    for case_type in CASE_TYPES:
        if case_type not in have:
            try:
                updates.do_save_setting(case_type, {"statuses": STATUSES, "texts": TEXTS})
            except CentralinoError:  # a type an administrator removed or changed: nothing to seed for it
                pass
            else:
                saved += 1
    return saved
