"""The engine's coverage of Twilio's Conversations v1 spec: operations answered (a 2xx with
valid data) out of the operations in tests/spec/twilio_conversations_v1.json.

    python tests/bench/coverage.py [--missing]

Walks every path and method in-process on a fresh database (tests/surface_helpers.py).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests/: the helpers

from engine_helpers import EngineClient  # noqa: E402
from surface_helpers import coverage, walk  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--missing", action="store_true", help="list what is not answered")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        client = EngineClient(Path(directory) / "coverage.db")

        def call(method, path, query, form):
            reply = client.call(method, path, form=form, query=query)
            return reply.status, reply.body

        answers = list(walk(call))
        client.close()
    print(f"spec coverage: {coverage(answers)}")
    if args.missing:
        for answer in answers:
            if not answer.answered:
                print(f"  {answer.status} {answer.operation.method} {answer.operation.path}")


if __name__ == "__main__":
    main()
