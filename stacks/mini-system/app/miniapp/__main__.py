"""``python -m miniapp login|messaging|payment``: serve one service with uvicorn (one worker) on
0.0.0.0:8000 (``PORT`` overrides). Configuration comes from the environment, see ``miniapp.web``."""

from __future__ import annotations

import importlib
import logging
import os
import sys


from miniapp import SERVICES
from miniapp.web import ConfigError, Settings, create_app


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in SERVICES:
        print(f"usage: python -m miniapp {'|'.join(SERVICES)}", file=sys.stderr)
        return 2
    service = argv[0]
    logging.basicConfig(level=logging.INFO,
                        format=f"%(asctime)s {service} %(name)s %(levelname)s %(message)s")
    logging.getLogger("psycopg.pool").setLevel(logging.WARNING)
    try:
        settings = Settings.from_env(service)
    except ConfigError as e:
        print(f"miniapp {service}: refusing to start: {e}", file=sys.stderr)
        return 2
    app = create_app(importlib.import_module(f"miniapp.{service}"), settings)
    import uvicorn  # here: the settings above are checked (and tested) without a server
    # No access log: load balancers health-check every 500 ms. uvloop by name, not "auto": an
    # image without it fails at start instead of quietly running the slower asyncio loop.
    uvicorn.run(app, host=os.environ.get("HOST", "0.0.0.0"), port=int(os.environ.get("PORT", "8000")),
                workers=1, access_log=False, timeout_graceful_shutdown=3, loop="uvloop")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
