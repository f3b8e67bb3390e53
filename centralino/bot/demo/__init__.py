"""The demo's dialog flows (the YAML files here) and the services they call (web/demo_services.py).

centralino/demo_bot.py seeds them: `demo_flows()` gives each flow's YAML source by name, `demo_services(base)`
the ServiceSpecs pointing at the running app's /demo-services/ routes.
"""

from __future__ import annotations

from pathlib import Path

from centralino.bot.actions.http import ServiceSpec

HERE = Path(__file__).parent


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
