"""Locust workload of the kv-sentinel stacks: people who write items and read them back.

Run by the harness on the host against the global entry point (``stack.yaml: entry_url``). Every
request goes through :func:`chaos.load.recorder.request` (service ``kv``), which judges it and
records it in the run's history:

=================  ==========================================  =============
task               request                                     ``write_id``
=================  ==========================================  =============
put (weight 4)     ``PUT /kv/items/<id>`` (a fresh uuid id)    ``<id>``
get (weight 1)     ``GET /kv/items/<id>`` of an acked id       -
=================  ==========================================  =============

An id is written once: a write whose answer was not ok is retried later with the same id and the
same value (at most ``MAX_ATTEMPTS`` times), never reused for other content. 2 s timeouts.
"""

from __future__ import annotations

import random
import uuid

from locust import FastHttpUser, between, task

from chaos.load.recorder import request

MAX_ATTEMPTS = 3
SERVICE = "kv"


class KvUser(FastHttpUser):
    connection_timeout = 2.0
    network_timeout = 2.0
    wait_time = between(0.1, 0.3)

    def on_start(self):
        self.acked: list[str] = []
        self.pending: list[tuple[str, bytes, int]] = []  # (id, value, attempts so far)

    @task(4)
    def put(self):
        if self.pending and random.random() < 0.5:
            item, value, attempts = self.pending.pop(0)
        else:
            item, attempts = uuid.uuid4().hex, 0
            value = f"value of {item}".encode()
        r = request(self.client, "PUT", f"/kv/items/{item}", service=SERVICE, op="put", write_id=item,
                    data=value, headers={"Content-Type": "application/octet-stream"})
        if r is not None:
            self.acked.append(item)
        elif attempts + 1 < MAX_ATTEMPTS:
            self.pending.append((item, value, attempts + 1))

    @task(1)
    def get(self):
        if not self.acked:
            return
        item = random.choice(self.acked[-50:])
        request(self.client, "GET", f"/kv/items/{item}", service=SERVICE, op="get")
