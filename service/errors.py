"""Errors that carry their own code and HTTP status; the API layer renders them as problem+json."""

from __future__ import annotations

from typing import Any


class ServiceError(Exception):
    code = "error"
    http_status = 400
    title = "Bad request"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class InvalidInput(ServiceError):
    code = "invalid-input"
    http_status = 422
    title = "Invalid input"


class NotFound(ServiceError):
    code = "not-found"
    http_status = 404
    title = "Not found"


class Conflict(ServiceError):
    code = "conflict"
    http_status = 409
    title = "Conflict"


class Unauthorized(ServiceError):
    code = "unauthorized"
    http_status = 401
    title = "Unauthorized"


class Forbidden(ServiceError):
    code = "forbidden"
    http_status = 403
    title = "Forbidden"


class PayloadTooLarge(ServiceError):
    code = "payload-too-large"
    http_status = 413
    title = "Payload too large"


class RateLimited(ServiceError):
    code = "rate-limited"
    http_status = 429
    title = "Too many requests"

    def __init__(self, detail: str, *, retry_after: str) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class Unavailable(ServiceError):
    code = "unavailable"
    http_status = 503
    title = "Service unavailable"


class Gone(ServiceError):
    code = "gone"
    http_status = 410
    title = "Gone"


class AllowanceRefused(Conflict):
    """A use the allowance's overage policy refuses; `problem_code` rides in the problem body as `code`."""

    title = "Allowance exhausted"

    def __init__(self, detail: str, *, problem_code: str) -> None:
        super().__init__(detail)
        self.problem_code = problem_code
        self.code = problem_code.lower().replace("_", "-")
