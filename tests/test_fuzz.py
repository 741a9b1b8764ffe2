"""The schemathesis run (tests/fuzz/schemathesis_run.py) against a served engine, bounded
for CI: a fixed seed, 10 generated requests per operation plus the crafted grid. Not one
request may be answered 5xx, and every 2xx body must match the spec's schema. The longer
run is the script itself (its docstring)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).parent / "fuzz" / "schemathesis_run.py"


def test_no_request_of_the_fuzzing_run_gets_a_server_error():
    run = subprocess.run(
        [sys.executable, str(SCRIPT), "--max-examples", "10", "--time-limit", "120",
         "--seed", "1"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
    figures = dict(re.findall(r"^([^:\n]+): (\d+)", run.stdout, re.MULTILINE))
    assert int(figures["operations"]) >= 23, run.stdout  # every operation wire.py routes
    assert int(figures["generated requests sent"]) >= 23 * 10 * 0.9, run.stdout
    assert int(figures["crafted requests sent"]) > 1000, run.stdout
    assert figures["failures (5xx, dropped, or a 2xx off the spec's schema)"] == "0", run.stdout
