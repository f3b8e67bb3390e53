"""A delivery worker process for the processing benchmark: `python -m bench._worker`.

Builds the services from CENTRALINO_* settings, prints `ready`, waits for a line on stdin, then
drains pending deliveries until none is left, and prints one JSON line with what it took.
"""

from __future__ import annotations

import json
import logging
import sys
import time

from bench.drain import drain_all
from centralino.config import Settings
from centralino.services import build_services


def main() -> None:
    # INFO to stderr (the worker's log file): bench.ingest counts the batch fallbacks in it
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    services = build_services(Settings(), migrate=False)
    services.directory.refresh()
    print("ready", flush=True)
    sys.stdin.readline()
    t0 = time.perf_counter()
    taken = drain_all(services, timeout_s=float(sys.argv[1]) if len(sys.argv) > 1 else 300.0)
    print(json.dumps({"taken": taken, "elapsed_s": time.perf_counter() - t0}), flush=True)
    services.dispose()


if __name__ == "__main__":
    main()
