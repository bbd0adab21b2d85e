"""Fuzz each mini-system service from its own OpenAPI document (schemathesis), in steady state:
no request, valid or not, may get a 5xx.

Per service, schemathesis loads ``<entry_url>/<svc>/openapi.json``; every operation becomes a
Hypothesis strategy (``operation.as_strategy``, positive and negative generation; room operations
once more with the room fixed to one the user is in, so generated messages reach the database),
and each generated request is sent, authenticated as a signed-up user with a wallet, to the
stack's entry point (``base_url``: 127.0.0.1 only) and checked with ``not_a_server_error``.

Why not ``schemathesis.pytest.from_fixture(...).parametrize()``: with pytest 9.2 it fails before
any request (``'Function' object has no attribute '_nodeid'``, schemathesis 4.32.5), and loading
the schema at import time would need the stack up at collection. ``as_strategy`` with ``@given``
is the documented way to use its strategies in one's own tests.

Bounded: 25 examples per operation and mode, no shrinking, a 10 s timeout per request, and
pytest-timeout per service.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402  (comes with schemathesis)
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402

from chaos.steady_state import wait_steady  # noqa: E402
from mini_system import Mini  # noqa: E402

# slow: the mini-system's own fuzz (about 90 s), not the harness's behaviour: `make test-slow`, not every CI run.
pytestmark = [pytest.mark.integration, pytest.mark.slow]

SERVICES = ("login", "messaging", "payment")
EXAMPLES_PER_OPERATION = 25
REQUEST_TIMEOUT_S = 10.0
# Operations without parameters or body: negative generation has nothing to make invalid.
NOTHING_TO_NEGATE = {"GET /login/health", "GET /login/me", "GET /messaging/health",
                     "GET /payment/health", "POST /payment/wallets", "GET /payment/wallets/me",
                     "GET /payment/audit"}


@pytest.fixture
def entry_url(chaos_stack) -> str:
    bad = wait_steady(chaos_stack, 120)
    assert not bad, bad
    assert chaos_stack.entry_url.startswith("http://127.0.0.1:"), chaos_stack.entry_url
    return chaos_stack.entry_url


@pytest.fixture
def fuzzer(entry_url) -> tuple[dict[str, str], str]:
    """The Authorization header of a signed-up user with a wallet (so payment calls get past 'no
    wallet'), and a room of theirs (so room operations get past 'no such room')."""
    mini = Mini(entry_url)
    user = mini.user(prefix="fuzz")
    return user.headers, mini.room(user)


def fuzz(operation, mode: GenerationMode, base_url: str, headers: dict[str, str],
         seen: Counter, **fixed) -> None:
    """Up to EXAMPLES_PER_OPERATION generated requests for one operation, each checked.
    ``fixed``: passed to ``as_strategy`` (e.g. ``path_parameters``)."""

    @given(case=operation.as_strategy(generation_mode=mode, **fixed))
    @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=timedelta(seconds=REQUEST_TIMEOUT_S + 2),
              phases=[Phase.explicit, Phase.generate], database=None,
              suppress_health_check=list(HealthCheck))
    def run(case):
        response = case.call_and_validate(base_url=base_url, headers=headers,
                                          checks=[not_a_server_error], timeout=REQUEST_TIMEOUT_S)
        seen[response.status_code] += 1

    run()


@pytest.mark.timeout(170)
@pytest.mark.parametrize("service", SERVICES)
def test_no_server_errors(service, entry_url, fuzzer):
    auth_headers, room = fuzzer
    # Loaded here, not at import: the stack is only up once the chaos_stack fixture ran.
    schema = schemathesis.openapi.from_url(f"{entry_url}/{service}/openapi.json",
                                           timeout=REQUEST_TIMEOUT_S, wait_for_schema=30.0)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5, [op.label for op in operations]
    seen: Counter = Counter()
    no_negative: list[str] = []
    for operation in operations:
        assert operation.path.startswith(f"/{service}/"), operation.label
        fuzz(operation, GenerationMode.POSITIVE, entry_url, auth_headers, seen)
        if "{room}" in operation.path:  # again in a room the user is in: bodies reach the database
            fuzz(operation, GenerationMode.POSITIVE, entry_url, auth_headers, seen,
                 path_parameters={"room": room})
        try:
            fuzz(operation, GenerationMode.NEGATIVE, entry_url, auth_headers, seen)
        except Unsatisfiable:
            no_negative.append(operation.label)  # nothing to break: no parameters, no body
    assert set(no_negative) <= NOTHING_TO_NEGATE, no_negative
    print(f"{service}: {sum(seen.values())} requests, statuses {dict(sorted(seen.items()))}")
    # A run that only ever got 401 or 422 would prove little: valid requests got through too.
    assert any(200 <= s < 300 for s in seen), dict(seen)
    assert sum(seen.values()) >= len(operations) * 5, dict(seen)
