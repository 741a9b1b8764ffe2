"""Benchmark: whole-process time of a completion request (what one TAB costs), as the
shells' scripts run it, with a full name cache (1,000 conversations). Target: 100 ms.

    python tests/bench/completion.py [--runs 30]

Run it from an environment where `convo` is installed. It uses its own temporary
directories, and prints the median and p90 of each request in milliseconds, with
`python -c pass` (the interpreter alone) for scale.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from startup import arguments, measure, report  # noqa: E402

from convo_cli.cache import MAX_ENTRIES, names_file, write_names  # noqa: E402

REQUESTS = {
    "bash: convo mes<TAB>": {"_CONVO_COMPLETE": "complete_bash",
                             "COMP_WORDS": "convo mes", "COMP_CWORD": "1"},
    "bash: convo messages --pa<TAB>": {"_CONVO_COMPLETE": "complete_bash",
                                       "COMP_WORDS": "convo messages --pa", "COMP_CWORD": "2"},
    "bash: convo messages st<TAB>": {"_CONVO_COMPLETE": "complete_bash",
                                     "COMP_WORDS": "convo messages st", "COMP_CWORD": "2"},
    "zsh:  convo messages st<TAB>": {"_CONVO_COMPLETE": "complete_zsh",
                                     "_TYPER_COMPLETE_ARGS": "convo messages st"},
    "fish: convo messages st<TAB>": {"_CONVO_COMPLETE": "complete_fish",
                                     "_TYPER_COMPLETE_FISH_ACTION": "get-args",
                                     "_TYPER_COMPLETE_ARGS": "convo messages st"},
    "bash: convo --profile <TAB>": {"_CONVO_COMPLETE": "complete_bash",
                                    "COMP_WORDS": "convo --profile ", "COMP_CWORD": "2"},
}


def main() -> None:
    convo, runs, _ = arguments()
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, CONVO_DATA_DIR=f"{tmp}/data", CONVO_CONFIG_DIR=f"{tmp}/config",
                   CONVO_CACHE_DIR=f"{tmp}/cache")
        env.pop("CONVO_PROFILE", None)
        names = {f"CH{n:032x}": (f"standup-{n}" if n % 2 else None) for n in range(MAX_ENTRIES)}
        write_names(names_file(env, "local"), names)
        report("python -c pass", measure([sys.executable, "-c", "pass"], env, runs),
               runs)
        for label, variables in REQUESTS.items():
            argv, request_env = [convo], {**env, **variables}
            measure(argv, request_env, 3)  # warm the page cache
            report(label, measure(argv, request_env, runs), runs)


if __name__ == "__main__":
    main()
