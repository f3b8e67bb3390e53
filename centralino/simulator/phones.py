"""The phones page at `/`: simulated customers chatting with the business (Jinja2, autoescaped).

The server renders the first view; `pages/phones.js` then polls `/_sim/ui/state` and redraws with
DOM `textContent`, so neither customer nor business text ever becomes HTML.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from centralino.simulator import views

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from centralino.simulator.app import Simulator

_ENV = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent / "pages"), autoescape=True)


def page(sim: Simulator) -> Callable[[Request], Awaitable[Response]]:
    async def phones(request: Request) -> Response:
        asked = request.query_params.get("number")
        number = sim.number(asked) if asked else None
        number = number or (sim.config.numbers[0] if sim.config.numbers else None)
        pnid = number.phone_number_id if number else None
        wa_id = request.query_params.get("customer") or next(iter(sim.state.customers), None)
        customer = sim.state.customers.get(wa_id) if wa_id else None
        html = _ENV.get_template("phones.html").render(
            base=request.scope.get("root_path", ""),
            numbers=sim.config.numbers, number=number,
            customers=[views.customer_view(sim, c, pnid) for c in sim.state.customers.values()],
            customer=customer,
            messages=views.conversation_view(sim, pnid, customer.wa_id) if pnid and customer else [],
        )
        return HTMLResponse(html, headers={"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                                                                       "style-src 'self' 'unsafe-inline'",
                                           "X-Content-Type-Options": "nosniff"})
    return phones
