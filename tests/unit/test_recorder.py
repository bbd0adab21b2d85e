"""chaos.load.recorder.request: what one judged request leaves in the history (no Locust, no network)."""

import json

import pytest

from chaos.errors import InvalidInput
from chaos.history import iter_records, parse
from chaos.load import recorder


class Answer:
    def __init__(self, status, text=None, headers=None, error=None):
        self.status_code, self._text, self.headers, self.error = status, text, headers or {}, error
        self.marked = None

    @property
    def text(self):
        if isinstance(self._text, Exception):
            raise self._text
        return self._text

    def success(self):
        self.marked = "success"

    def failure(self, why):
        self.marked = f"failure: {why}"

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class Client:
    def __init__(self, answer):
        self.answer = answer

    def request(self, method, path, name=None, catch_response=False, **kwargs):
        assert catch_response and name
        return self.answer


@pytest.fixture
def history_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CHAOS_HISTORY_DIR", str(tmp_path))
    monkeypatch.setattr(recorder, "_writer", None)
    return tmp_path


def _only_op(directory):
    (path,) = directory.glob("load-*.jsonl")
    (record,) = [r for r in iter_records([path]) if r["kind"] == "op"]
    return record


def test_a_failed_answer_records_who_gave_it(history_dir):
    page = "<html><body><h1>503 Service Unavailable</h1>\nNo server is available to handle this request.\n</body></html>"
    answer = Answer(503, text=page)
    assert recorder.request(Client(answer), "GET", "/x/ping", service="x", op="ping") is None
    op = _only_op(history_dir)
    assert op["outcome"] == "fail" and op["status"] == 503
    # The load balancer's own page, whitespace folded: not the service's JSON error.
    assert op["error"] == ("HTTP 503: <html><body><h1>503 Service Unavailable</h1> No server is "
                           "available to handle this request. </body></html>")
    assert answer.marked.startswith("failure: fail: HTTP 503: <html>")


def test_a_long_body_is_cut_and_a_missing_or_broken_one_is_left_out(history_dir):
    recorder.request(Client(Answer(500, text="x" * 1000)), "GET", "/a", service="x", op="a")
    recorder.request(Client(Answer(503, text="")), "GET", "/b", service="x", op="b")
    recorder.request(Client(Answer(502, text=UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad"))),
                     "GET", "/c", service="x", op="c")
    (path,) = history_dir.glob("load-*.jsonl")
    errors = [r["error"] for r in iter_records([path]) if r["kind"] == "op"]
    assert errors == ["HTTP 500: " + "x" * 120, "HTTP 503", "HTTP 502"]


def test_an_ok_answer_records_no_error(history_dir):
    answer = Answer(200, text='{"ok": true}')
    assert recorder.request(Client(answer), "GET", "/x/ping", service="x", op="ping") is answer
    op = _only_op(history_dir)
    assert op["outcome"] == "ok" and op["error"] is None and answer.marked == "success"


LOCUSTFILE_ON_A_FULL_DISK = '''
import errno
import chaos.history
from locust import User, constant, task
from chaos.load import recorder

def _full(fd, data):
    raise OSError(errno.ENOSPC, "No space left on device")

chaos.history.os.write = _full  # every write of the history meets a full disk

class Person(User):
    wait_time = constant(0.1)

    @task
    def record(self):
        recorder._history().write({"kind": "op"})
'''


def test_locust_exits_75_when_the_recorder_could_not_write_a_record(tmp_path):
    """The runner learns of records that never reached the history from Locust's exit code
    (chaos.runner marks records_lost; the run is unknown). A real Locust process, no network."""
    import os
    import subprocess
    import sys

    (tmp_path / "lf.py").write_text(LOCUSTFILE_ON_A_FULL_DISK)
    env = dict(os.environ, CHAOS_HISTORY_DIR=str(tmp_path / "history"))
    done = subprocess.run([sys.executable, "-m", "locust", "-f", str(tmp_path / "lf.py"), "--headless", "-u", "1",
                           "-r", "1", "-t", "2s", "--only-summary", "--exit-code-on-error", "0"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == recorder.RECORDS_UNWRITTEN_EXIT, done.stderr[-2000:]
    assert "the history could not be written as the run went" in done.stderr


def _ops(directory):
    (path,) = directory.glob("load-*.jsonl")
    return [r for r in iter_records([path]) if r["kind"] == "op"]


def test_a_read_records_who_made_it_what_it_expected_and_what_it_saw(history_dir):
    answer = Answer(200, text='{"ids": ["m1", "m3"]}')
    recorder.request(Client(answer), "GET", "/m", service="messaging", op="read", who="alice",
                     expect=["m1", "m2", "m3"], seen=lambda resp: json.loads(resp.text)["ids"])
    (op,) = _ops(history_dir)
    assert op["who"] == "alice" and op["expect"] == ["m1", "m2", "m3"] and op["saw"] == ["m1", "m3"]
    parsed = parse([op]).ops[0]
    assert parsed.who == "alice" and parsed.expect == ("m1", "m2", "m3") and parsed.saw == ("m1", "m3")
    assert not parsed.is_write


def test_a_read_that_failed_or_could_not_be_inspected_saw_nothing_known(history_dir):
    recorder.request(Client(Answer(503, text="")), "GET", "/m", service="messaging", op="read", who="bob",
                     expect=["m1"], seen=lambda resp: ["m1"])
    recorder.request(Client(Answer(200, text="garbage")), "GET", "/m", service="messaging", op="read", who="bob",
                     expect=["m1"], seen=lambda resp: resp.json_that_is_not_there())
    assert [op["saw"] for op in _ops(history_dir)] == [None, None]


def test_a_request_without_a_client_or_expectations_records_neither(history_dir):
    recorder.request(Client(Answer(200, text="{}")), "POST", "/w", service="x", op="w", write_id="w1")
    (op,) = _ops(history_dir)
    assert "who" not in op and "expect" not in op and "saw" not in op
    assert parse([op]).ops[0].is_write


@pytest.mark.parametrize("bad", [{"expect": "m1"}, {"expect": [1]}, {"saw": [None]}, {"who": 3}])
def test_a_damaged_read_record_is_refused_naming_the_key(bad):
    record = {"kind": "op", "service": "x", "op": "read", "outcome": "ok", "start": 1.0, "mono": 1.0,
              "latency": 0.1, **bad}
    with pytest.raises(InvalidInput, match=next(iter(bad))):
        parse([record])
