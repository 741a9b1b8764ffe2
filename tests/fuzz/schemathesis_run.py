"""Fuzz a served engine with schemathesis: no request may get a 5xx, no 2xx be off the spec.

    python tests/fuzz/schemathesis_run.py --max-examples 50 --time-limit 120 [--seed 1]

Starts `convo serve` on loopback (a fresh database), loads Twilio's spec from tests/spec/,
keeps the operations the engine implements (engine/wire.py ROUTES and PARAMETERS), and for
each one sends schemathesis's generated requests, valid (positive) and invalid (negative)
alike. Half of them have their path SIDs replaced by resources that exist (a conversation
with a participant and a message, a user), so that the update and delete code runs too, not
only the 404s; half carry one hostile value (HOSTILE below) in a parameter. Then the
crafted grid: every hostile value in every parameter of every operation, once. Every 5xx,
dropped connection, or 2xx whose body is not exactly the spec's response schema
(tests/engine_helpers.py validate_response) is a failure, printed with the request.
Prints the figures (operations, requests, status classes, failures, seconds); exit status 1
when any request failed. Needs the test extra (`pip install -e '.[test]'`: schemathesis).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TESTS = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(TESTS))

SPEC = TESTS / "spec" / "twilio_conversations_v1.json"
# Values the spec's schemas rarely make (a `string` attribute is never 995 nested arrays; a
# `date-time` seldom year 9999 with an offset). One of them replaces one parameter the
# engine accepts in half of the generated cases; and every operation gets each of them in each
# of its parameters once (the crafted grid). Each made a 500 once.
HOSTILE = [
    str(2**63), str(-2**63 - 1), str(2**63 - 1), "9" * 5000, "\u0661\u0662", "1_0", " 7", "-0",
    "[" * 995 + "]" * 995, '{"a": ' * 40 + "1" + "}" * 40, "[" * 33 + "]" * 33, "[",
    "9999-12-31T23:00:00-05:00", "0001-01-01T00:00:00+05:00", "0999-01-01T00:00:00Z",
    "10000-01-01T00:00:00Z", "9999-12-31", "0001-01-01", "P999999999999D", "PT" + "9" * 5000 + "S",
    "P1D", "PT1M", "\x00", "\x1b]52;c;aGk=\x07", "x" * 5000, "", " ", "null", "%", "PT",
    "whatsapp:+15551234567", "+15551234567", "CH" + "0" * 32, "MB" + "0" * 32,
]


@dataclass
class Tally:
    operations: list[str] = field(default_factory=list)
    examples: int = 0
    crafted: int = 0  # the grid's requests
    statuses: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    not_sent: int = 0  # cases the HTTP client itself refused to build (e.g. a bad header)


def implemented_operations(schema: Any) -> list[Any]:
    """The spec's operations, but those under `/v1/Services/{ChatServiceSid}/`: a named
    service's paths run the very same routes as their `/v1/` form (engine/services.py), so
    they are fuzzed once, in that form."""
    from convo_cli.engine.wire import PARAMETERS

    found = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if (route_of(operation), operation.method.upper()) in PARAMETERS:
            found.append(operation)
    return found


def route_of(operation: Any) -> str | None:
    """The engine's route for a spec path, as engine/wire.py `_route` finds it."""
    from convo_cli.engine.wire import ROUTES

    parts = operation.path.removeprefix("/v1/").split("/")
    if parts[:2] == ["Configuration", "Addresses"]:
        return "address" if len(parts) == 3 else "addresses"
    return ROUTES.get(tuple("*" if p.startswith("{") else p for p in parts))


def accepted_parameters(operation: Any) -> set[str]:
    from convo_cli.engine.wire import PARAMETERS

    return PARAMETERS[(route_of(operation), operation.method.upper())]


class Seed:
    """Resources that exist, for path parameters; made again after a delete."""

    def __init__(self, session: Any, url: str) -> None:
        self.session, self.url, self.sids = session, url, {}
        self.generation = 0

    def get(self) -> dict[str, str]:
        if not self.sids:
            self.generation += 1
            name = f"fuzz{self.generation}"
            conversation = self._post("/v1/Conversations", {"UniqueName": name})["sid"]
            participant = self._post(f"/v1/Conversations/{conversation}/Participants",
                                     {"Identity": name})["sid"]
            self._post(f"/v1/Conversations/{conversation}/Participants", {
                "MessagingBinding.Address": "+15551230000",
                "MessagingBinding.ProxyAddress": "+15550001111"})
            message = self._post(f"/v1/Conversations/{conversation}/Messages",
                                 {"Author": name, "Body": "hello"})["sid"]
            receipts = self.session.get(
                f"{self.url}/v1/Conversations/{conversation}/Messages/{message}/Receipts")
            receipt = receipts.json()["delivery_receipts"][0]["sid"]
            address = self._post("/v1/Configuration/Addresses", {
                "Type": "sms", "Address": f"+1555000{self.generation:04d}"})["sid"]
            user = self.session.get(f"{self.url}/v1/Users/{name}").json()["sid"]
            role = self._post("/v1/Roles", {"FriendlyName": name, "Type": "conversation",
                                            "Permission": "sendMessage"})["sid"]
            webhook = self._post(f"/v1/Conversations/{conversation}/Webhooks", {
                "Target": "webhook", "Configuration.Url": "http://127.0.0.1:9/",
                "Configuration.Filters": "onMessageAdded"})["sid"]
            credential = self._post("/v1/Credentials", {"Type": "fcm", "Secret": name})["sid"]
            service = self._post("/v1/Services", {"FriendlyName": name})["sid"]
            self.sids = {"Services": service, "Conversations": conversation,
                         "Participants": participant,
                         "Messages": message, "Users": user, "Roles": role,
                         "Webhooks": webhook, "Credentials": credential, "Receipts": receipt,
                         "Addresses": address}
        return self.sids

    def _post(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        reply = self.session.post(self.url + path, data=form)
        reply.raise_for_status()
        return reply.json()

    def path_parameters(self, path: str) -> dict[str, str]:
        """`{ConversationSid}`, `{UserSid}`, and `{Sid}` after the collection it names."""
        sids, values, parts = self.get(), {}, path.removeprefix("/v1/").split("/")
        for before, part in zip(parts, parts[1:]):
            if part.startswith("{"):
                name = part.strip("{}")
                collection = {"ConversationSid": "Conversations", "UserSid": "Users"}.get(name,
                                                                                          before)
                values[name] = sids[collection]
        return values


def fuzz(max_examples: int, time_limit: float, seed: int | None, out: Any = sys.stdout) -> Tally:
    import requests
    import schemathesis

    from server_helpers import start_server

    tally = Tally()
    schema = schemathesis.openapi.from_path(str(SPEC))
    operations = implemented_operations(schema)
    with tempfile.TemporaryDirectory() as directory:
        server = start_server(Path(directory) / "fuzz.db")
        session = requests.Session()
        session.auth = server.auth
        seeds = Seed(session, server.url)
        started = time.monotonic()
        try:
            for operation in operations:
                if time.monotonic() - started > time_limit:
                    break
                tally.operations.append(f"{operation.method.upper()} {operation.path}")
                run_operation(operation, max_examples, seed, started + time_limit,
                              lambda case: send(case, session, server.url, tally, seeds), seeds)
            for operation in operations:
                if time.monotonic() - started > time_limit:
                    break
                send_grid(operation, session, server.url, tally, seeds)
        finally:
            session.close()
            code = server.stop()
            if code != 0:
                tally.failures.append(f"the server exited {code}:\n{server.log()[-2000:]}")
        tally.elapsed = time.monotonic() - started  # type: ignore[attr-defined]
    report(tally, out)
    return tally


def run_operation(operation: Any, max_examples: int, seed: int | None, deadline: float,
                  call: Any, seeds: Seed) -> None:
    import hypothesis
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st
    from schemathesis import GenerationMode

    names = sorted(accepted_parameters(operation))
    modes = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                      operation.as_strategy(GenerationMode.NEGATIVE))

    @settings(max_examples=max_examples, deadline=None, database=None,
              phases=[Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=modes, real=st.booleans(), hostile=st.one_of(
        st.none(), st.tuples(st.sampled_from(names), st.sampled_from(HOSTILE)))
        if names else st.none())
    def check(case: Any, real: bool, hostile: tuple[str, str] | None) -> None:
        if time.monotonic() > deadline:
            return
        if real and case.path_parameters:
            case.path_parameters = {**case.path_parameters,
                                    **seeds.path_parameters(operation.path)}
        if hostile is not None:  # alone, so that no other fault answers first
            name, value = hostile
            if case.method.upper() == "POST":
                case.body = {name: value}
            else:
                case.query = {name: value}
        call(case)

    if seed is not None:
        check = hypothesis.seed(seed)(check)
    check()


def send(case: Any, session: Any, url: str, tally: Tally, seeds: Seed) -> None:
    import requests

    try:
        response = case.call(base_url=url, session=session, timeout=30)
    except requests.ConnectionError as error:
        tally.examples += 1
        tally.failures.append(f"{describe(case)}: connection failed: {error}")
        return
    except (requests.RequestException, ValueError, UnicodeError):
        tally.not_sent += 1
        return
    tally.examples += 1
    check_answer(case.operation, response.status_code, response.text, describe(case), tally)
    if case.method.upper() == "DELETE" and response.status_code == 204:
        seeds.sids = {}  # the seed may be gone: make new ones for the next case


def send_grid(operation: Any, session: Any, url: str, tally: Tally, seeds: Seed) -> None:
    """Each hostile value alone in each parameter the operation accepts, on real resources."""
    import requests

    method = operation.method.upper()
    for name in sorted(accepted_parameters(operation)):
        for value in HOSTILE:
            path = operation.path.format(**seeds.path_parameters(operation.path))
            where = {"data": {name: value}} if method == "POST" else {"params": {name: value}}
            shown = f"{name}={value[:60]!r}{'…' if len(value) > 60 else ''}"
            try:
                response = session.request(method, url + path, timeout=30, **where)
            except requests.ConnectionError as error:
                tally.failures.append(f"{method} {path} {shown}: connection failed: {error}")
                continue
            tally.crafted += 1
            check_answer(operation, response.status_code, response.text,
                         f"{method} {path} {shown}", tally)


def check_answer(operation: Any, status: int, text: str, what: str, tally: Tally) -> None:
    """A 5xx is a failure; so is a 2xx whose body is not exactly the spec's schema."""
    import json

    import jsonschema

    from engine_helpers import validate_response

    tally.statuses[f"{status // 100}xx"] += 1
    if status >= 500:
        tally.failures.append(f"{what}: {status} {text[:200]}")
    elif 200 <= status < 300 and text:
        try:
            validate_response(operation.definition.raw["operationId"], status, json.loads(text))
        except (ValueError, jsonschema.ValidationError) as error:
            tally.failures.append(f"{what}: {status} does not match the spec: "
                                  f"{str(error).splitlines()[0][:200]}")


def describe(case: Any) -> str:
    return (f"{case.method.upper()} {case.formatted_path} query={case.query!r:.200} "
            f"body={case.body!r:.200}")


def report(tally: Tally, out: Any) -> None:
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(tally.statuses.items()))
    out.write(f"operations: {len(tally.operations)}\n"
              f"generated requests sent: {tally.examples}; not sendable: {tally.not_sent}\n"
              f"crafted requests sent: {tally.crafted}\n"
              f"statuses: {statuses}\n"
              f"failures (5xx, dropped, or a 2xx off the spec's schema): {len(tally.failures)}\n"
              f"seconds: {getattr(tally, 'elapsed', 0):.1f}\n")
    for failure in tally.failures[:20]:
        out.write(f"  FAIL {failure}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-examples", type=int, default=50,
                        help="generated requests per operation (default 50)")
    parser.add_argument("--time-limit", type=float, default=120,
                        help="stop starting new requests after this many seconds (default 120)")
    parser.add_argument("--seed", type=int, default=None,
                        help="derandomize: the same requests on every run (for CI)")
    args = parser.parse_args(argv)
    tally = fuzz(args.max_examples, args.time_limit, args.seed)
    return 1 if tally.failures else 0


if __name__ == "__main__":
    sys.exit(main())
