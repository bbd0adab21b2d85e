"""Locust workload of the ground-truth stack: steady pings of both truth services.

Each of the users pings ``/truth-3s/ping`` then ``/truth-8s/ping`` once every 50 ms
(``constant_pacing``: the pace does not depend on how long the answers take), so with 5 users each
service sees about 100 requests a second: an outage's end is seen within about 10 ms. Every
request goes through :func:`chaos.load.recorder.request` (a 503 is a ``fail``). Reads only: no
``write_id``, nothing to read back.

Run by the harness: ``locust -f stacks/ground-truth/workload.py --host http://127.0.0.1:18090``.
"""

from __future__ import annotations

import random

import gevent
from locust import FastHttpUser, constant_pacing, task

from chaos.load.recorder import request

PACING_S = 0.05
PINGS = (("truth-3s", "/truth-3s/ping"), ("truth-8s", "/truth-8s/ping"))


class Prober(FastHttpUser):
    connection_timeout = 2.0
    network_timeout = 2.0
    wait_time = constant_pacing(PACING_S)

    def on_start(self) -> None:
        # Users spawned together would ping in step, 5 requests at once every 50 ms; a random phase
        # spreads them over the period, so the service is sampled about every 10 ms.
        gevent.sleep(random.uniform(0, PACING_S))

    @task
    def ping(self) -> None:
        for service, path in PINGS:
            request(self.client, "GET", path, service=service, op="ping")
