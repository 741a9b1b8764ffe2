"""The engine's routing table (built from its resource families, engine/wire.py FAMILIES)
checked against the spec copy: every operation of the spec is routed, with the spec's
parameters accepted; no route or method exists that the spec does not have; every route has
its handler. A newcomer adding a family learns here what is missing."""

from __future__ import annotations

import re

from engine_helpers import spec

from convo_cli.engine.wire import HANDLERS, PARAMETERS, ROUTES, SCOPED_ROUTES, route_of

SCOPE = "/v1/Services/{ChatServiceSid}/"
# Accepted beyond the spec's schema: sent by the spec's own request examples.
EXTRAS = {("participants", "POST"): {"MessagingBinding.ProxyAddressFallback"}}


def operations() -> list[tuple[str, str, dict]]:
    return [(method.upper(), path, op) for path, item in spec()["paths"].items()
            for method, op in item.items() if isinstance(op, dict) and "operationId" in op]


def route_for(path: str) -> str | None:
    scoped = path.startswith(SCOPE)
    rest = path[len(SCOPE):] if scoped else path.removeprefix("/v1/")
    segments = [re.sub(r"^\{\w+\}$", "XX" + "0" * 32, s) for s in rest.split("/")]
    return route_of(segments, scoped)


def spec_parameters(operation: dict) -> set[str]:
    names = {p["name"] for p in operation.get("parameters", []) if p.get("in") == "query"}
    form = operation.get("requestBody", {}).get("content", {}).get(
        "application/x-www-form-urlencoded", {}).get("schema", {}).get("properties", {})
    return names | set(form)


def test_every_operation_of_the_spec_is_routed_with_its_parameters():
    for method, path, operation in operations():
        route = route_for(path)
        assert route is not None, f"{method} {path}: no route"
        accepted = PARAMETERS.get((route, method))
        assert accepted is not None, f"{method} {path}: route {route} has no {method}"
        expected = spec_parameters(operation)
        assert accepted - EXTRAS.get((route, method), set()) == expected, (method, path, route)


def test_no_route_or_method_exists_that_the_spec_lacks():
    reached = {(route_for(path), method) for method, path, _ in operations()}
    assert set(PARAMETERS) == reached


def test_every_route_has_its_handler_and_the_scopes_differ_where_the_spec_does():
    assert set(ROUTES.values()) | set(SCOPED_ROUTES.values()) == set(HANDLERS)
    # The account's own resources are not a service's, and a service's settings not /v1/'s.
    assert {"credentials", "addresses", "configuration", "services"} <= \
        set(ROUTES.values()) - set(SCOPED_ROUTES.values())
    assert {"bindings", "notifications", "service_configuration"} <= \
        set(SCOPED_ROUTES.values()) - set(ROUTES.values())
