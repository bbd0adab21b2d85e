"""WAN faults against a fake Toxiproxy, and site_stop against a fake Docker client; no Docker.

The fake speaks the subset of Toxiproxy's HTTP API (v2) the harness uses, with the real shapes:
GET /proxies (name -> proxy with its toxics), POST /proxies/{proxy} {"enabled": ...},
POST /proxies/{proxy}/toxics (409 if the name exists), DELETE /proxies/{proxy}/toxics/{toxic}
(204, or 404 "toxic not found"), POST /reset (204); errors as {"error": ..., "status": ...}.
It serves the dual-site stack's own proxy list (stacks/dual-site/config/toxiproxy.json).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote

import pytest

from chaos.errors import ExperimentInvalid, InvalidInput
from chaos.experiment import FaultSpec, Target
from chaos.faults import IMPLEMENTATIONS, FaultContext
from chaos.faults.bandwidth import kilobytes_per_s
from chaos.faults.params import REGISTRY
from chaos.stack import find_stack
from chaos.toxiproxy import Toxiproxy, ToxiproxyError, sites_of

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "stacks" / "dual-site" / "config" / "toxiproxy.json"
BETWEEN = {"pangyo.chuncheon.etcd", "pangyo.chuncheon.pg", "pangyo.chuncheon.patroni",
           "chuncheon.pangyo.etcd", "chuncheon.pangyo.pg", "chuncheon.pangyo.patroni"}
TOUCHING_PANGYO = BETWEEN | {"pangyo.witness.etcd", "witness.pangyo.etcd"}


class FakeToxiproxy:
    """Toxiproxy's HTTP API in a thread on 127.0.0.1 (port 0). ``fail[(method, path)] = status``
    makes that call answer an error; ``calls`` records (method, path, body)."""

    def __init__(self, proxies: list[dict]):
        self.proxies = {p["name"]: {**p, "toxics": []} for p in proxies}
        self.fail: dict[tuple[str, str], int] = {}
        self.calls: list[tuple[str, str, dict | None]] = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.01,), daemon=True)

    def toxics(self, proxy: str) -> list[dict]:
        return self.proxies[proxy]["toxics"]

    def enabled(self) -> set[str]:
        return {name for name, p in self.proxies.items() if p["enabled"]}

    def handle(self, method: str, path: str, body: dict | None) -> tuple[int, object]:
        with self.lock:
            self.calls.append((method, path, body))
            if (method, path) in self.fail:
                return self.fail[(method, path)], {"error": "injected failure", "status": self.fail[(method, path)]}
            parts = [unquote(p) for p in path.strip("/").split("/")]
            if method == "GET" and parts == ["proxies"]:
                return 200, self.proxies
            if method == "POST" and parts == ["reset"]:
                for p in self.proxies.values():
                    p["enabled"], p["toxics"] = True, []
                return 204, None
            if parts[0] != "proxies" or len(parts) < 2 or parts[1] not in self.proxies:
                return 404, {"error": "proxy not found", "status": 404}
            proxy = self.proxies[parts[1]]
            if method == "POST" and len(parts) == 2:
                proxy["enabled"] = bool(body.get("enabled", proxy["enabled"]))
                return 200, proxy
            if method == "POST" and parts[2:] == ["toxics"]:
                return self._add(proxy, body)
            if method == "DELETE" and len(parts) == 4 and parts[2] == "toxics":
                kept = [t for t in proxy["toxics"] if t["name"] != parts[3]]
                if len(kept) == len(proxy["toxics"]):
                    return 404, {"error": "toxic not found", "status": 404}
                proxy["toxics"] = kept
                return 204, None
            return 405, {"error": "not in the fake", "status": 405}

    @staticmethod
    def _add(proxy: dict, body: dict) -> tuple[int, object]:
        stream = body.get("stream", "downstream")
        if stream not in ("upstream", "downstream"):
            return 400, {"error": "stream was invalid, can be either upstream or downstream", "status": 400}
        toxic = {"name": body.get("name") or f"{body['type']}_{stream}", "type": body["type"], "stream": stream,
                 "toxicity": body.get("toxicity", 1.0), "attributes": body.get("attributes", {})}
        if any(t["name"] == toxic["name"] for t in proxy["toxics"]):
            return 409, {"error": "toxic already exists", "status": 409}
        proxy["toxics"].append(toxic)
        return 200, toxic

    def _handler(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                status, answer = fake.handle(self.command, self.path, body)
                data = b"" if answer is None else json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = _serve

            def log_message(self, *args) -> None:
                pass

        return Handler


@pytest.fixture
def toxiproxy():
    fake = FakeToxiproxy(json.loads(CONFIG.read_text()))
    fake.thread.start()
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def stack(toxiproxy):
    return dataclasses.replace(find_stack("dual-site", ROOT / "stacks"), toxiproxy_url=toxiproxy.url)


def make(kind: str, target: Target, stack=None, client=None, **params):
    decl = REGISTRY[kind]
    full = {p.name: p.default for p in decl.params} | params
    return IMPLEMENTATIONS[kind](FaultSpec(kind, target, 10.0, full), FaultContext(client=client, stack=stack))


LINK = Target(link=("pangyo", "chuncheon"))


# Toxics.


def test_latency_adds_two_toxics_on_exactly_the_six_proxies_of_the_link(toxiproxy, stack):
    fault = make("latency", LINK, stack, latency_ms=200, jitter_ms=25, duration_s=20.0)
    detail = fault.inject()
    poisoned = {name for name, p in toxiproxy.proxies.items() if p["toxics"]}
    assert poisoned == BETWEEN
    for name in BETWEEN:
        assert sorted(toxiproxy.toxics(name), key=lambda t: t["stream"]) == [
            {"name": "chaos-latency-downstream", "type": "latency", "stream": "downstream", "toxicity": 1.0,
             "attributes": {"latency": 200, "jitter": 25}},
            {"name": "chaos-latency-upstream", "type": "latency", "stream": "upstream", "toxicity": 1.0,
             "attributes": {"latency": 200, "jitter": 25}},
        ]
    assert "6 proxies" in detail and "pangyo.chuncheon.pg" in detail
    assert fault.heal_after_s == 20.0


def test_link_order_does_not_matter(toxiproxy, stack):
    make("latency", Target(link=("chuncheon", "pangyo")), stack, latency_ms=5, duration_s=1.0).inject()
    assert {name for name, p in toxiproxy.proxies.items() if p["toxics"]} == BETWEEN


def test_heal_removes_the_toxics_and_a_second_heal_is_harmless(toxiproxy, stack):
    fault = make("latency", LINK, stack, latency_ms=200, duration_s=20.0)
    fault.inject()
    assert fault.heal() == "removed 12 latency toxics from 6 proxies"
    assert all(not p["toxics"] for p in toxiproxy.proxies.values())
    assert fault.heal() == "removed 0 latency toxics from 6 proxies"


def test_heal_removes_only_its_own_toxics(toxiproxy, stack):
    Toxiproxy(toxiproxy.url).add_toxic("pangyo.chuncheon.pg", "someone-else", "latency", "upstream", {"latency": 1})
    fault = make("latency", LINK, stack, latency_ms=200, duration_s=20.0)
    fault.inject()
    fault.heal()
    assert [t["name"] for t in toxiproxy.toxics("pangyo.chuncheon.pg")] == ["someone-else"]


@pytest.mark.parametrize("direction", ["upstream", "downstream"])
def test_one_direction_is_one_toxic_per_proxy(toxiproxy, stack, direction):
    fault = make("latency", LINK, stack, latency_ms=50, duration_s=5.0, direction=direction)
    fault.inject()
    for name in BETWEEN:
        assert [(t["name"], t["stream"]) for t in toxiproxy.toxics(name)] == [(f"chaos-latency-{direction}", direction)]
    assert fault.heal() == "removed 6 latency toxics from 6 proxies"


def test_inject_replaces_a_leftover_toxic_of_the_same_name(toxiproxy, stack):
    Toxiproxy(toxiproxy.url).add_toxic("chuncheon.pangyo.pg", "chaos-latency-upstream", "latency", "upstream",
                                       {"latency": 1, "jitter": 0})
    make("latency", LINK, stack, latency_ms=300, duration_s=5.0).inject()
    (up,) = [t for t in toxiproxy.toxics("chuncheon.pangyo.pg") if t["stream"] == "upstream"]
    assert up["attributes"] == {"latency": 300, "jitter": 0}


@pytest.mark.parametrize(
    ("kind", "params", "toxic", "attributes"),
    [
        ("bandwidth", {"rate_kbps": 800}, "bandwidth", {"rate": 100}),
        ("timeout", {}, "timeout", {"timeout": 0}),
        ("timeout", {"timeout_ms": 1500}, "timeout", {"timeout": 1500}),
        ("reset_peer", {"timeout_ms": 100}, "reset_peer", {"timeout": 100}),
    ],
)
def test_other_toxics_and_their_attributes(toxiproxy, stack, kind, params, toxic, attributes):
    fault = make(kind, LINK, stack, duration_s=7.0, **params)
    fault.inject()
    for name in BETWEEN:
        assert {(t["name"], t["type"], t["stream"]) for t in toxiproxy.toxics(name)} == {
            (f"chaos-{kind}-upstream", toxic, "upstream"), (f"chaos-{kind}-downstream", toxic, "downstream")}
        assert all(t["attributes"] == attributes for t in toxiproxy.toxics(name))
    assert fault.heal_after_s == 7.0
    fault.heal()
    assert toxiproxy.proxies["pangyo.chuncheon.pg"]["toxics"] == []


def test_bandwidth_rate_is_kilobytes_and_never_zero():
    assert kilobytes_per_s(8000) == 1000
    assert kilobytes_per_s(8) == 1
    assert kilobytes_per_s(9) == 1


# Disabling proxies.


def test_cut_disables_the_link_and_heal_re_enables_it(toxiproxy, stack):
    fault = make("cut", LINK, stack, duration_s=10.0)
    detail = fault.inject()
    assert set(toxiproxy.proxies) - toxiproxy.enabled() == BETWEEN
    assert detail.startswith("disabled 6 proxies: ")
    assert all(body == {"enabled": False} for m, path, body in toxiproxy.calls if m == "POST" and path != "/reset")
    assert fault.heal() == "re-enabled 6 proxies"
    assert toxiproxy.enabled() == set(toxiproxy.proxies)
    assert fault.heal() == "re-enabled 6 proxies"
    assert toxiproxy.enabled() == set(toxiproxy.proxies)


def test_isolate_disables_every_proxy_touching_the_site_and_nothing_else(toxiproxy, stack):
    fault = make("isolate", Target(site="pangyo"), stack, duration_s=25.0)
    fault.inject()
    assert set(toxiproxy.proxies) - toxiproxy.enabled() == TOUCHING_PANGYO
    assert toxiproxy.enabled() == {"chuncheon.witness.etcd", "witness.chuncheon.etcd"}
    assert fault.heal_after_s == 25.0
    fault.heal()
    assert toxiproxy.enabled() == set(toxiproxy.proxies)


def test_a_cut_inside_an_isolation_leaves_the_isolation_in_place(toxiproxy, stack):
    isolate = make("isolate", Target(site="pangyo"), stack, duration_s=25.0)
    cut = make("cut", LINK, stack, duration_s=5.0)
    isolate.inject()
    assert "6 already disabled" in cut.inject()
    assert cut.heal() == "no proxy to re-enable"
    assert set(toxiproxy.proxies) - toxiproxy.enabled() == TOUCHING_PANGYO
    isolate.heal()
    assert toxiproxy.enabled() == set(toxiproxy.proxies)


def test_heal_after_a_half_failed_cut_re_enables_what_was_disabled(toxiproxy, stack):
    toxiproxy.fail[("POST", "/proxies/chuncheon.pangyo.pg")] = 500
    fault = make("cut", LINK, stack, duration_s=10.0)
    with pytest.raises(RuntimeError, match="chuncheon.pangyo.pg"):
        fault.inject()
    assert set(toxiproxy.proxies) - toxiproxy.enabled() == BETWEEN - {"chuncheon.pangyo.pg"}
    del toxiproxy.fail[("POST", "/proxies/chuncheon.pangyo.pg")]
    fault.heal()
    assert toxiproxy.enabled() == set(toxiproxy.proxies)


# Errors surface.


def test_a_500_names_the_proxy_and_the_heal_still_cleans_up(toxiproxy, stack):
    toxiproxy.fail[("POST", "/proxies/pangyo.chuncheon.pg/toxics")] = 500
    fault = make("latency", LINK, stack, latency_ms=200, duration_s=20.0)
    with pytest.raises(RuntimeError) as caught:
        fault.inject()
    message = str(caught.value)
    assert message.startswith("latency incomplete: pangyo.chuncheon.pg: ")
    assert "HTTP 500" in message and "injected failure" in message
    assert all(toxiproxy.toxics(name) for name in BETWEEN - {"pangyo.chuncheon.pg"})
    fault.heal()
    assert all(not p["toxics"] for p in toxiproxy.proxies.values())


def test_a_failing_heal_raises_naming_the_proxy(toxiproxy, stack):
    fault = make("timeout", LINK, stack, duration_s=3.0)
    fault.inject()
    toxiproxy.fail[("DELETE", "/proxies/pangyo.chuncheon.etcd/toxics/chaos-timeout-upstream")] = 500
    with pytest.raises(RuntimeError, match="timeout not healed everywhere: pangyo.chuncheon.etcd: .*HTTP 500"):
        fault.heal()


def test_unknown_link_is_a_clear_error(toxiproxy, stack):
    fault = make("cut", Target(link=("pangyo", "jeju")), stack, duration_s=10.0)
    with pytest.raises(InvalidInput, match=r"no proxy for link=pangyo-jeju \(proxies are named <src-site>"):
        fault.inject()
    assert toxiproxy.enabled() == set(toxiproxy.proxies)


def test_stack_without_toxiproxy_is_a_clear_error(stack):
    fault = make("latency", LINK, dataclasses.replace(stack, toxiproxy_url=None), latency_ms=1, duration_s=1.0)
    with pytest.raises(InvalidInput, match="stack dual-site has no toxiproxy_url"):
        fault.inject()


def test_toxiproxy_not_answering_surfaces():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ToxiproxyError, match="did not answer GET /proxies"):
        Toxiproxy(f"http://127.0.0.1:{port}").proxies_between("pangyo", "chuncheon")


# The client itself.


def test_client_remove_missing_toxic_is_false_and_conflicts_raise(toxiproxy):
    tp = Toxiproxy(toxiproxy.url)
    assert tp.remove_toxic("pangyo.chuncheon.pg", "nothing") is False
    assert tp.add_toxic("pangyo.chuncheon.pg", "t", "latency", "upstream", {"latency": 1})["name"] == "t"
    with pytest.raises(ToxiproxyError) as caught:
        tp.add_toxic("pangyo.chuncheon.pg", "t", "latency", "upstream", {"latency": 1})
    assert caught.value.status == 409
    assert tp.remove_toxic("pangyo.chuncheon.pg", "t") is True
    assert tp.set_enabled("witness.pangyo.etcd", False)["enabled"] is False
    tp.reset()
    assert toxiproxy.enabled() == set(toxiproxy.proxies)


def test_client_finds_proxies_by_their_sites(toxiproxy):
    tp = Toxiproxy(toxiproxy.url)
    assert set(tp.proxies_between("pangyo", "chuncheon")) == BETWEEN
    assert set(tp.proxies_of("pangyo")) == TOUCHING_PANGYO
    assert set(tp.proxies_between("chuncheon", "witness")) == {"chuncheon.witness.etcd", "witness.chuncheon.etcd"}
    assert sites_of("pangyo.chuncheon.pg") == ("pangyo", "chuncheon")
    assert sites_of("redis") is None and sites_of("a.b") is None


# The client goes through toxiproxy-python, with a timeout on every call, every error surfaced, and
# one server per instance.


def _frames(error: BaseException) -> list[str]:
    """The files of every frame the error (and the errors it was raised while handling) went through."""
    files, seen = [], error
    while seen is not None:
        tb = seen.__traceback__
        while tb is not None:
            files.append(tb.tb_frame.f_code.co_filename)
            tb = tb.tb_next
        seen = seen.__context__
    return files


def _through_the_library(error: BaseException) -> bool:
    return any(f.replace("\\", "/").endswith(("toxiproxy/proxy.py", "toxiproxy/server.py")) for f in _frames(error))


CALLS = [  # (what the harness calls, the request it makes)
    (lambda tp: tp.proxies(), ("GET", "/proxies")),
    (lambda tp: tp.set_enabled("pangyo.chuncheon.pg", False), ("POST", "/proxies/pangyo.chuncheon.pg")),
    (lambda tp: tp.add_toxic("pangyo.chuncheon.pg", "t", "latency", "upstream", {"latency": 1}),
     ("POST", "/proxies/pangyo.chuncheon.pg/toxics")),
    (lambda tp: tp.remove_toxic("pangyo.chuncheon.pg", "t"), ("DELETE", "/proxies/pangyo.chuncheon.pg/toxics/t")),
    (lambda tp: tp.reset(), ("POST", "/reset")),
]


@pytest.mark.parametrize("status", [500, 503, 403])
@pytest.mark.parametrize("act, request_", CALLS, ids=["proxies", "set_enabled", "add_toxic", "remove_toxic", "reset"])
def test_an_error_answer_surfaces_with_its_status_through_the_library(toxiproxy, status, act, request_):
    # toxiproxy-python alone lets 5xx and 403 pass as if they had worked.
    toxiproxy.fail[request_] = status
    with pytest.raises(ToxiproxyError) as caught:
        act(Toxiproxy(toxiproxy.url))
    assert caught.value.status == status
    assert f"HTTP {status}" in str(caught.value) and "injected failure" in str(caught.value)
    assert _through_the_library(caught.value)
    assert toxiproxy.calls[-1][:2] == request_


class Silent:
    """A server that accepts connections (the kernel's backlog) and never answers."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"


@pytest.fixture
def silent():
    server = Silent()
    yield server
    server.sock.close()


@pytest.mark.timeout(60)  # without the client's timeout the call would wait for ever
@pytest.mark.parametrize("act, request_", CALLS, ids=["proxies", "set_enabled", "add_toxic", "remove_toxic", "reset"])
def test_a_toxiproxy_that_never_answers_is_an_error_after_the_timeout(silent, act, request_):
    with pytest.raises(ToxiproxyError) as caught:
        act(Toxiproxy(silent.url, timeout_s=0.2))
    assert caught.value.status is None
    assert f"did not answer {request_[0]} {request_[1]}" in str(caught.value)
    assert "timed out" in str(caught.value)  # the client's timeout ended it, not the server
    assert _through_the_library(caught.value)


def test_an_answer_the_library_cannot_read_is_an_error(toxiproxy):
    # A proxy without the fields toxiproxy-python reads.
    toxiproxy.proxies["pangyo.chuncheon.pg"].pop("upstream")
    with pytest.raises(ToxiproxyError, match="GET /proxies: unexpected answer .*KeyError") as caught:
        Toxiproxy(toxiproxy.url).proxies()
    assert caught.value.status == 200


@pytest.mark.parametrize("act", [lambda tp: tp.proxies(), lambda tp: tp.set_enabled("p", True),
                                 lambda tp: tp.add_toxic("p", "t", "latency", "upstream", {"latency": 1})],
                         ids=["proxies", "set_enabled", "add_toxic"])
def test_an_answer_that_is_not_json_is_an_error(act):
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(200)
            self.send_header("Content-Length", "9")
            self.end_headers()
            self.wfile.write(b"<html/>\r\n")

        do_GET = do_POST = _serve

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True).start()
    try:
        with pytest.raises(ToxiproxyError, match="unexpected answer|not JSON") as caught:
            act(Toxiproxy(f"http://127.0.0.1:{server.server_address[1]}"))
        assert caught.value.status == 200
    finally:
        server.shutdown()
        server.server_close()


def test_two_servers_at_once_each_get_only_their_own_calls():
    import toxiproxy as library

    fakes = [FakeToxiproxy(json.loads(CONFIG.read_text())) for _ in range(2)]
    for fake in fakes:
        fake.thread.start()
    before = (library.api.APIConsumer.host, library.api.APIConsumer.port)
    try:
        def work(fake: FakeToxiproxy, toxic: str) -> None:
            tp = Toxiproxy(fake.url)
            for name in sorted(fake.proxies):
                tp.add_toxic(name, toxic, "latency", "upstream", {"latency": 1})
            tp.set_enabled("pangyo.chuncheon.pg", False)

        threads = [threading.Thread(target=work, args=(fake, f"only-{i}")) for i, fake in enumerate(fakes)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for i, fake in enumerate(fakes):
            assert {t["name"] for p in fake.proxies.values() for t in p["toxics"]} == {f"only-{i}"}
            assert all(len(p["toxics"]) == 1 for p in fake.proxies.values())
            assert "pangyo.chuncheon.pg" not in fake.enabled()
        # The library's class-wide address was never touched.
        assert (library.api.APIConsumer.host, library.api.APIConsumer.port) == before
    finally:
        for fake in fakes:
            fake.server.shutdown()
            fake.server.server_close()


def test_the_library_used_by_others_still_goes_where_it_says(toxiproxy, monkeypatch):
    import toxiproxy as library

    Toxiproxy(toxiproxy.url).proxies()  # the transport is in place
    host, port = toxiproxy.url.removeprefix("http://").split(":")
    monkeypatch.setattr(library.api.APIConsumer, "host", host)
    monkeypatch.setattr(library.api.APIConsumer, "port", int(port))
    assert set(library.Toxiproxy().proxies()) == set(toxiproxy.proxies)


def test_names_are_quoted_in_paths(toxiproxy):
    toxiproxy.proxies["a b.c/d.pg"] = {"name": "a b.c/d.pg", "listen": "x:1", "upstream": "y:1",
                                       "enabled": True, "toxics": []}
    tp = Toxiproxy(toxiproxy.url)
    tp.add_toxic("a b.c/d.pg", "t/1", "latency", "upstream", {"latency": 1})
    assert toxiproxy.calls[-1][1] == "/proxies/a%20b.c%2Fd.pg/toxics"
    assert tp.remove_toxic("a b.c/d.pg", "t/1") is True
    assert toxiproxy.calls[-1][1] == "/proxies/a%20b.c%2Fd.pg/toxics/t%2F1"


# site_stop, against a fake Docker client.


class FakeContainer:
    def __init__(self, name: str, status: str = "running"):
        self.name, self.status, self.stopped_with = name, status, None

    def reload(self) -> None:
        pass

    def stop(self, timeout=None) -> None:
        self.stopped_with, self.status = timeout, "exited"

    def start(self) -> None:
        self.status = "running"

    def unpause(self) -> None:
        self.status = "running"


class FakeDocker:
    def __init__(self, containers: dict[str, list[FakeContainer]]):
        self.by_site = containers
        self.containers = self
        self.filters: list[dict] = []

    def list(self, all: bool, filters: dict) -> list[FakeContainer]:
        self.filters.append(filters)
        site = next(label.split("=", 1)[1] for label in filters["label"] if label.startswith("chaos.site="))
        return self.by_site.get(site, [])


def test_site_stop_stops_gracefully_and_heal_starts_again(stack):
    pangyo = [FakeContainer("pg-pangyo"), FakeContainer("login-pangyo"), FakeContainer("etcd-pangyo", "paused")]
    docker = FakeDocker({"pangyo": pangyo, "chuncheon": [FakeContainer("pg-chuncheon")]})
    fault = make("site_stop", Target(site="pangyo"), stack, client=docker, grace_s=3)
    assert fault.heal_after_s is None
    assert fault.inject().startswith("stopped 3 containers (grace 3 s): ")
    assert [c.stopped_with for c in pangyo] == [3, 3, 3]
    assert docker.by_site["chuncheon"][0].status == "running"
    assert "com.docker.compose.project=chaos-dual-site" in docker.filters[0]["label"]
    assert fault.heal() == "started 3 containers"
    assert all(c.status == "running" for c in pangyo)
    assert fault.heal() == "started 3 containers"


def test_site_stop_default_grace_and_duration(stack):
    fault = make("site_stop", Target(site="chuncheon"), stack, client=FakeDocker({"chuncheon": [FakeContainer("a")]}),
                 duration_s=30.0)
    assert fault.heal_after_s == 30.0
    fault.inject()
    assert fault.ctx.client.by_site["chuncheon"][0].stopped_with == 10


# Every declared type runs; plan needs no context.


def test_every_declared_fault_type_is_implemented():
    assert set(REGISTRY) == set(IMPLEMENTATIONS)


@pytest.mark.parametrize("kind", ["latency", "bandwidth", "cut", "timeout", "reset_peer", "isolate", "site_stop"])
def test_faults_heal_after_their_duration_without_a_context(kind):
    """``plan`` builds faults with no context (no Docker, no Toxiproxy) to read heal_after_s."""
    target = Target(site="pangyo") if "site" in REGISTRY[kind].targets else LINK
    params = {p.name: p.default for p in REGISTRY[kind].params} | {"duration_s": 12.0}
    assert IMPLEMENTATIONS[kind](FaultSpec(kind, target, 1.0, params), None).heal_after_s == 12.0


def test_prepare_refuses_wan_faults_on_a_stack_without_toxiproxy(tmp_path, monkeypatch):
    from chaos.runner import prepare

    for name in ("dual-site", "mini-system"):  # a stack's files lie under its stacks folder
        shutil.copytree(ROOT / "stacks" / name, tmp_path / name)
    original = (ROOT / "stacks" / "dual-site" / "stack.yaml").read_text().splitlines()
    (tmp_path / "dual-site" / "stack.yaml").write_text(
        "\n".join(line for line in original if not line.startswith("toxiproxy_url")))
    monkeypatch.setenv("CHAOS_STACKS_DIR", str(tmp_path))
    with pytest.raises(ExperimentInvalid) as caught:
        prepare(ROOT / "experiments" / "wan-latency.yaml", None)
    (problem,) = caught.value.problems
    assert problem.path == "faults[0].type"
    assert "latency acts through Toxiproxy, and stack dual-site has no toxiproxy_url" in problem.message
