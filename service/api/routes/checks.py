"""Entitlement checks: POST, GET (for IVR widgets), batch; JSON or flat answers."""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from service.api.check_params import LIMITS, PHONE_ALIASES, CheckParams, flat_fields_schema
from service.api.deps import AppState, admit, presented_key
from service.api.problems import service_error_body, validation_body
from service.api.schemas.checks import BatchOut, BatchRequest, CheckRequest, FlatDecision, decision_out, flat_out
from service.api.schemas.common import Problem
from service.cache import Miss
from service.domain.allowance import Q
from service.domain.model import Channel
from service.errors import Forbidden, InvalidInput, ServiceError
from service.text import control_character_in
from service.timebounds import check_bounds
from service.usecases.allowances import quarters
from service.usecases.checks import NO_EXTRAS, CheckExtras, CheckResult, ClientRef, make_ref, run_check

router = APIRouter(tags=["entitlements"])

Format = Literal["json", "flat"]
FORMATS = ("json", "flat")
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Missing or unknown API key"},
    403: {"model": Problem, "description": "The key lacks the scope `entitlements:check`"},
    413: {"model": Problem, "description": "Body too large"},
    422: {"model": Problem, "description": "Unknown service, malformed identifier or bad field"},
    503: {"model": Problem, "description": "Database unreachable and nothing held in memory"},
}


@dataclass(frozen=True, slots=True)
class CheckAccess:
    state: AppState
    now: datetime


async def check_access(request: Request) -> CheckAccess:
    """The app state, the time and an admitted caller, as one dependency.

    The usual aliases (StateDep, CheckCaller, NowDep) are five dependencies; FastAPI spends about
    10 µs resolving each, more than the cached check itself, so the hot routes take this one.
    Being a dependency, it still runs before the body is validated: no 422 before a 401.
    """
    state: AppState = request.app.state.sg
    now = datetime.now(UTC)
    await admit_checker(presented_key(request), request.scope, state, now)
    return CheckAccess(state, now)


async def admit_checker(key: str | None, scope: MutableMapping[str, Any], state: AppState, now: datetime) -> None:
    """401 without a usable key, 429 over its rate, 403 without the scope entitlements:check."""
    caller = await admit(key, scope, state, now)
    if not caller.has("entitlements:check"):
        raise Forbidden("this key lacks the scope entitlements:check")


check_access.required_scopes = ("entitlements:check",)  # type: ignore[attr-defined]  # as require() marks its checks
Access = Annotated[CheckAccess, Depends(check_access)]


def _parse_at(raw: str | None, loc: list[str | int]) -> datetime | None:
    if raw is None or raw == "":
        return None
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"not a timestamp: {raw[:40]!r}", errors=[{"loc": loc, "msg": "RFC 3339 timestamp expected"}]) from None
    if value.tzinfo is None:
        raise InvalidInput("a timestamp needs an offset", errors=[{"loc": loc, "msg": "timestamp without offset"}])
    try:
        return check_bounds(value, str(loc[-1]))
    except InvalidInput as exc:
        raise InvalidInput(exc.detail, errors=[{"loc": loc, "msg": e["msg"]} for e in exc.errors or []]) from None


def _text(value: Any, loc: list[str | int]) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidInput(f"{loc[-1]} must be a string", errors=[{"loc": loc, "msg": "string expected"}])
    text = str(value)
    if control_character_in(text):
        raise InvalidInput(f"{loc[-1]} holds a control character", errors=[{"loc": loc, "msg": "control character"}])
    limit = LIMITS.get(str(loc[-1]), 320)
    if len(text) > limit:
        raise InvalidInput(f"{loc[-1]} is too long", errors=[{"loc": loc, "msg": f"at most {limit} characters"}])
    return text


def ref_from_flat(params: Mapping[str, Any], region: str, where: str) -> ClientRef:
    """A client named by flat fields: phone (or From, Caller, ani), email, client_id, external_system+external_id."""
    phone_name = next((k for k in PHONE_ALIASES if k in params), "phone")
    phone = params.get(phone_name)
    email = params.get("email")
    client_id = params.get("client_id")
    system, ext_id = params.get("external_system"), params.get("external_id")
    external = None
    if system is not None or ext_id is not None:
        external = (_text(system or "", [where, "external_system"]), _text(ext_id or "", [where, "external_id"]))
    return make_ref(
        client_id=_text(client_id, [where, "client_id"]) if client_id is not None else None,
        email=_text(email, [where, "email"]) if email is not None else None,
        phone=_text(phone, [where, phone_name]) if phone is not None else None,
        external=external,
        region=region,
        loc=(where,),
    )


CHANNELS = tuple(c.value for c in Channel)


def _contact_ref(email: Any, phone: Any, region: str, loc: list[str | int]) -> ClientRef | None:
    """The person named beside the client (`contact: {email | phone}`); a withheld phone names nobody."""
    if email is None and phone is None:
        return None
    if email is not None and phone is not None:
        raise InvalidInput("name the contact by one of email, phone", errors=[{"loc": loc, "msg": "exactly one of email, phone"}])
    ref = make_ref(
        email=_text(email, [*loc, "email"]) if email is not None else None,
        phone=_text(phone, [*loc, "phone"]) if phone is not None else None,
        region=region, loc=tuple(loc),
    )
    return ref if ref.kind is not None else None


def _channel(value: Any, loc: list[str | int]) -> str | None:
    if value is None or value == "":
        return None
    if value not in CHANNELS:
        raise InvalidInput(f"unknown channel {str(value)[:40]!r}", errors=[{"loc": loc, "msg": f"one of {', '.join(CHANNELS)}"}])
    return str(value)


def flat_extras(params: Mapping[str, Any], region: str, where: str) -> CheckExtras:
    """contact_email / contact_phone and channel of a flat or query check."""
    contact = _contact_ref(params.get("contact_email"), params.get("contact_phone"), region, [where, "contact"])
    channel = _channel(params.get("channel"), [where, "channel"])
    return CheckExtras(contact, channel, units_of(params, where))


def parse_item(item: Any, region: str, where: str = "body") -> tuple[ClientRef, str, datetime | None, CheckExtras]:
    """One check request, structured (`{"client": {...}}`) or flat (`{"phone": ..., "service": ...}`)."""
    if not isinstance(item, dict):
        raise InvalidInput("a check request is a JSON object", errors=[{"loc": [where], "msg": "object expected"}])
    if "client" in item:
        try:
            request = CheckRequest.model_validate(item)
        except ValidationError as exc:
            errors = [{"loc": [where, *e["loc"]], "msg": e["msg"]} for e in exc.errors()]
            raise InvalidInput(f"{'.'.join(map(str, errors[0]['loc']))}: {errors[0]['msg']}", errors=errors) from None
        c = request.client
        ref = make_ref(
            client_id=c.id, email=c.email, phone=c.phone,
            external=(c.external_ref.system, c.external_ref.id) if c.external_ref else None,
            region=region, loc=(where, "client"),
        )
        contact = (
            _contact_ref(request.contact.email, request.contact.phone, region, [where, "contact"]) if request.contact else None
        )
        return ref, request.service, request.at, CheckExtras(contact, request.channel, units_of(item, where))
    service = item.get("service")
    if service is None:
        raise InvalidInput("service is required", errors=[{"loc": [where, "service"], "msg": "field required"}])
    for name in LIMITS.keys() & item.keys():  # every declared field's own limit first, as the GET route's model does
        if item[name] is not None:
            _text(item[name], [where, name])
    ref = ref_from_flat(item, region, where)
    at = _parse_at(_text(item["at"], [where, "at"]) if item.get("at") is not None else None, [where, "at"])
    return ref, _text(service, [where, "service"]), at, flat_extras(item, region, where)


async def _read_body(request: Request) -> dict[str, Any]:
    body = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type.startswith("multipart/") and body.strip():
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}
    return body_fields(body, content_type)


def body_fields(body: bytes, content_type: str) -> dict[str, Any]:
    """The fields of a check's JSON or form body (`content_type` lower-cased, without parameters)."""
    if not body.strip():
        return {}
    if content_type == "application/x-www-form-urlencoded":
        try:
            return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            raise InvalidInput("the form body is not UTF-8") from None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidInput("the body is not valid JSON", errors=[{"loc": ["body"], "msg": "invalid JSON"}]) from None
    if not isinstance(data, dict):
        raise InvalidInput("the body must be a JSON object", errors=[{"loc": ["body"], "msg": "object expected"}])
    return data


def _decide(
    state: AppState, ref: ClientRef, service: str, now: datetime, at: datetime | None, allow_io: bool,
    extras: CheckExtras = NO_EXTRAS,
) -> CheckResult:
    return run_check(
        state.cache, ref, service, now=now, at=at, allow_io=allow_io, degraded_policy=state.settings.degraded_policy,
        extras=extras,
    )


async def decide(
    state: AppState, ref: ClientRef, service: str, now: datetime, at: datetime | None, extras: CheckExtras = NO_EXTRAS
) -> CheckResult:
    result: CheckResult | None = None
    for _attempt in range(3):  # an e-mail may miss twice (address, then domain)
        try:
            result = _decide(state, ref, service, now, at, False, extras)
            break
        except Miss as miss:
            if state.cache.inline_io:  # SQLite: a local read, cheaper than any hop
                result = _decide(state, ref, service, now, at, True, extras)
                break
            try:
                loaded = await state.cache.load_async(miss)
            except Exception:  # the database is in trouble: the thread path below decides (degraded mode)
                loaded = False
            if not loaded:
                break
    if result is None:
        result = await run_in_threadpool(_decide, state, ref, service, now, at, True, extras)
    state.metrics.count_decision(result.decision.service, result.decision.allowed)
    return result


def payload(result: CheckResult, fmt: str) -> bytes:
    return orjson.dumps(flat_out(result) if fmt == "flat" else decision_out(result))


def render(result: CheckResult, fmt: str) -> Response:
    return Response(payload(result, fmt), media_type="application/json")


CHECK_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The decision (also for a refusal). `?format=flat` answers the flat string map.",
        "content": {"application/json": {"schema": {"anyOf": [
            {"$ref": "#/components/schemas/DecisionOut"}, {"$ref": "#/components/schemas/FlatDecision"}
        ]}}},
    },
    **ERRORS,
}

FLAT_FIELDS = flat_fields_schema()


async def _check_post(request: Request, access: CheckAccess, format: str) -> Response:
    data = await _read_body(request)
    query = dict(request.query_params) if request.scope["query_string"] else {}
    return Response(await answer_fields(access.state, access.now, data, query, format), media_type="application/json")


async def answer_fields(state: AppState, now: datetime, data: dict[str, Any], query: dict[str, str], format: str) -> bytes:
    """The POST check's answer. Query fields fill in what the body lacks (`?service=` on a Twilio form POST)."""
    if query:
        data = {**{k: v for k, v in query.items() if k != "format"}, **data}
    ref, service, at, extras = parse_item(data, state.settings.default_region)
    return payload(await decide(state, ref, service, now, at, extras), format)


@router.post(
    "/v1/entitlements/check",
    summary="May this client get this service now?",
    description=(
        "Structured JSON (`{client: {...}, service}`), or flat fields (phone/From/Caller/ani, email, client_id, "
        "external_system+external_id, service) as JSON or form body. Always 200 for a decision."
    ),
    response_model=None,  # documented in CHECK_RESPONSES: DecisionOut or, with ?format=flat, FlatDecision
    responses=CHECK_RESPONSES,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"anyOf": [{"$ref": "#/components/schemas/CheckRequest"}, FLAT_FIELDS]}},
                "application/x-www-form-urlencoded": {"schema": FLAT_FIELDS},
            },
        }
    },
)
async def check_post(request: Request, access: Access, format: Format = "json") -> Response:
    return await _check_post(request, access, format)


def get_is_usual(params: Mapping[str, str]) -> bool:
    """A GET check the route's declared parameters accept (else FastAPI's validation answers it)."""
    if params.get("format", "json") not in FORMATS:
        return False
    try:
        CheckParams.model_validate(params)
    except ValidationError:
        return False
    return True


@router.get(
    "/v1/entitlements/check",
    summary="The same check as GET, for systems that can only send GET",
    response_model=None,  # documented in CHECK_RESPONSES: DecisionOut or, with ?format=flat, FlatDecision
    responses=CHECK_RESPONSES,
)
async def check_get(
    request: Request, access: Access, params: Annotated[CheckParams, Query()], format: Format = "json"
) -> Response:
    return Response(await answer_query(access.state, access.now, dict(request.query_params), format), media_type="application/json")


async def answer_query(state: AppState, now: datetime, params: Mapping[str, str], format: str) -> bytes:
    ref = ref_from_flat(params, state.settings.default_region, "query")
    at = _parse_at(params.get("at"), ["query", "at"])
    extras = flat_extras(params, state.settings.default_region, "query")
    return payload(await decide(state, ref, params["service"], now, at, extras), format)


@router.post(
    "/v1/entitlements/check-batch",
    summary="Up to 100 checks in one call, answered in order",
    response_model=BatchOut,
    responses=ERRORS,
)
async def check_batch(body: BatchRequest, access: Access) -> Response:
    return await _check_batch(body, access)


async def _check_batch(body: BatchRequest, access: CheckAccess) -> Response:
    return Response(await answer_batch(access.state, access.now, body), media_type="application/json")


async def answer_batch(state: AppState, now: datetime, body: BatchRequest) -> bytes:
    region = state.settings.default_region

    def evaluate(allow_io: bool) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        for index, item in enumerate(body.items):
            try:
                ref, service, at, extras = parse_item(item, region, f"items.{index}")
                result = _decide(state, ref, service, now, at, allow_io, extras)
            except ServiceError as exc:
                results.append(service_error_body(exc))
                continue
            results.append(decision_out(result))
        return results

    try:
        results = evaluate(False)
    except Miss:
        results = evaluate(True) if state.cache.inline_io else await run_in_threadpool(evaluate, True)
    for answer in results:
        if "allowed" in answer:
            state.metrics.count_decision(answer["service"], answer["allowed"])
    return orjson.dumps({"results": results})


def units_of(fields: Mapping[str, Any], where: str) -> int:
    """The check's `units` (default 1) in quarter-units; a non-quarter or non-positive amount is a 422."""
    value = fields.get("units")
    if value is None or value == "":
        return Q
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidInput("units must be a number", errors=[{"loc": [where, "units"], "msg": "number expected"}])
    return quarters(value, None, [where, "units"])


__all__ = ["router", "validation_body", "FlatDecision"]
