"""How long `chaos-harness validate` takes to refuse each hostile experiment file of the test corpus
(tests/data/hostile/), in-process, best of 3 per file. Issue 14 asks for under a second each; the
unit tests only guard against hangs, this is where the figure comes from.

    .venv/bin/python bench/validate_hostile.py
"""

from __future__ import annotations

import contextlib
import io
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from chaos import cli  # noqa: E402


def main() -> int:
    times = []
    for path in sorted((ROOT / "tests" / "data" / "hostile").glob("*.yaml")):
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
                code = cli.main(["validate", str(path)])
            best = min(best, time.perf_counter() - start)
        times.append((best, path.name, code))
    times.sort()
    codes = {c for _, _, c in times}
    print(f"{len(times)} hostile files, exit codes {sorted(codes)}; validate time per file: "
          f"median {times[len(times) // 2][0] * 1000:.1f} ms, max {times[-1][0] * 1000:.1f} ms ({times[-1][1]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
