"""The routes an app serves and what each demands (a key, which scopes): read by the OpenAPI document,
the 405 answer's Allow header and the scope tests. Knows no dependency by name, so it sits below deps."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute


@dataclass(frozen=True, slots=True)
class RouteAccess:
    """What a route demands: a key at all, and which scopes (any one of them) it must hold."""

    needs_key: bool
    scopes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class RouteInfo:
    path: str
    methods: frozenset[str]
    access: RouteAccess
    in_schema: bool


def app_routes(app: FastAPI) -> list[RouteInfo]:
    """Every API route of the app as served (FastAPI >= 0.160 keeps included routers as lazy wrappers)."""
    try:
        # A name of newer FastAPI versions only.
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI: app.routes holds the routes themselves
        contexts: list[Any] = list(app.routes)
    else:
        contexts = list(iter_route_contexts(app.routes))
    found = []
    for context in contexts:
        route = getattr(context, "original_route", context)
        if not isinstance(route, APIRoute):
            continue
        found.append(RouteInfo(
            path=context.path_format, methods=frozenset(context.methods or ()), access=route_access(context),
            in_schema=bool(getattr(context, "include_in_schema", route.include_in_schema)),
        ))
    return found


def route_access(route: object) -> RouteAccess:
    """Walks a route's dependency tree: the OpenAPI document and the scope test both read it from here."""
    dependant = getattr(route, "dependant", None)
    needs_key, scopes = False, ()
    stack = list(dependant.dependencies) if dependant is not None else []
    while stack:
        dep = stack.pop()
        if getattr(dep.call, "needs_key", False):  # deps.authenticate
            needs_key = True
        found = getattr(dep.call, "required_scopes", None)
        if found:
            needs_key, scopes = True, tuple(found)
        stack.extend(dep.dependencies)
    return RouteAccess(needs_key, scopes)
