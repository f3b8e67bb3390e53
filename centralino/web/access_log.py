"""The access log without machine traffic: provider webhooks (hundreds a second at peak) and the desk's
event streams would drown the lines people read, and writing them was measured at ~8% of the web process's
Python time under bench.realtime's load. Deliveries are counted in the database (webhook_deliveries) and
streams in the desk's own figures; every other request is still logged by uvicorn."""

from __future__ import annotations

import logging

from centralino.web.desk.events_stream import PATH as EVENTS_PATH
from centralino.web.webhooks import PREFIX as WEBHOOKS_PREFIX

ACCESS_LOGGER = "uvicorn.access"


class MachineTrafficFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        # uvicorn's access record: args (client, method, path with query, http version, status)
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(path := args[2], str):
            return not (path.startswith(WEBHOOKS_PREFIX) or path.split("?", 1)[0] == EVENTS_PATH)
        return True


def quiet_machine_traffic() -> None:
    """Idempotent: called at each start of the app (tests start many)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, MachineTrafficFilter) for f in logger.filters):
        logger.addFilter(MachineTrafficFilter())
