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


def test_the_run_counts_a_5xx_and_a_2xx_off_the_schema_as_failures():
    import schemathesis

    sys.path.insert(0, str(SCRIPT.parent))
    import schemathesis_run as fuzz

    schema = schemathesis.openapi.from_path(str(fuzz.SPEC))
    operations = {f"{o.method.upper()} {o.path}": o for o in fuzz.implemented_operations(schema)}
    assert "GET /v1/Conversations" in operations and "GET /v1/Services" in operations
    # A named service's paths run the very same routes: fuzzed once, by their `/v1/` form.
    assert "GET /v1/Services/{ChatServiceSid}/Conversations" not in operations
    listing = operations["GET /v1/Conversations"]
    tally = fuzz.Tally()
    fuzz.check_answer(listing, 500, '{"code": 20500}', "a", tally)
    fuzz.check_answer(listing, 200, '{"conversations": []}', "b", tally)  # no meta
    fuzz.check_answer(listing, 400, '{"code": 20422}', "c", tally)
    assert [f[0] for f in tally.failures] == ["a", "b"]
    assert tally.statuses == {"5xx": 1, "2xx": 1, "4xx": 1}
