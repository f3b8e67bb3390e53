"""The demo's dialog flows (the YAML files here) and the services they call (web/demo_services.py).

centralino/demo_bot.py seeds them: `demo_flows()` gives each flow's YAML source by name, `demo_services(base)`
the ServiceSpecs pointing at the running app's /demo-services/ routes, DEMO_CASE_TYPE the case type the
change_delivery_date flow opens.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from centralino.bot.actions.http import ServiceSpec
from centralino.domain.case_defaults import STANDARD_WORKFLOW

HERE = Path(__file__).parent

# The case type change_delivery_date's open_case ending names (not among the installation's default types):
# the demo seeding creates it (app/case_types.py format) so the flow's case opens instead of handing off.
DEMO_CASE_TYPE: dict[str, Any] = {
    "key": "delivery_change", "name": {"it": "Cambio data consegna", "en": "Delivery date change"},
    "default_priority": "normal", "workflow": STANDARD_WORKFLOW,
    "fields": [
        {"key": "order_number", "kind": "text", "label": {"it": "Numero d'ordine", "en": "Order number"},
         "required": True, "regex": "[A-Za-z0-9-]{4,30}"},
        {"key": "requested_date", "kind": "date", "label": {"it": "Data richiesta", "en": "Requested date"}},
    ],
    "sla": {"first_response_min": 240, "resolution_min": 60 * 24 * 2, "task_min": 60 * 8, "warn_fraction": 0.8},
}


def demo_flows() -> dict[str, str]:
    """name -> YAML source (the file name is the flow's name)."""
    return {path.stem: path.read_text(encoding="utf-8") for path in sorted(HERE.glob("*.yaml"))}


def demo_services(base_url: str) -> list[ServiceSpec]:
    """The services the demo flows name, on the app at `base_url` (e.g. http://127.0.0.1:8000)."""
    base = base_url.rstrip("/") + "/demo-services"
    return [
        ServiceSpec(name="demo_orders", url=base + "/orders/{{ number }}",
                    response_mapping={"status": "status", "carrier": "carrier", "tracking": "tracking",
                                      "eta": "eta"},
                    timeout_s=3.0, retries=1),
        ServiceSpec(name="demo_reschedule", method="POST", url=base + "/orders/{{ number }}/delivery-date",
                    request_template='{"date": "{{ date }}"}', response_mapping={"eta": "eta"},
                    timeout_s=3.0, retries=0),
        ServiceSpec(name="demo_boarding_pass", url=base + "/boarding-pass/{{ booking }}?surname={{ surname }}",
                    timeout_s=5.0, retries=1),
    ]
