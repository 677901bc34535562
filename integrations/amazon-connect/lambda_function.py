"""Amazon Connect -> supportgate: the caller's entitlement as a flat string map (paste into a Python Lambda).

Standard library only. Settings from the environment:
  SUPPORTGATE_URL              e.g. https://supportgate.example.com (required)
  SUPPORTGATE_API_KEY          a key with the scope entitlements:check (required)
  SUPPORTGATE_SERVICE          default advanced_support; a flow's Parameters.service overrides it
  SUPPORTGATE_TIMEOUT_SECONDS  default 3, keep it under the Lambda block's 8 s limit
The handler never raises: on a timeout or any error it answers a degraded map that routes to triage.
"""

import json
import os
import urllib.error
import urllib.parse
import urllib.request

# Keys every answer carries, so a flow can branch on them even when supportgate cannot be reached.
DEGRADED = {
    "allowed": "false",
    "found": "false",
    "client_id": "",
    "client_name": "",
    "service": "",
    "reason": "",
    "contract_status": "",
    "grace_until": "",
    "plan": "",
    "rank": "0",
    "priority": "",
    "queue": "",
    "route": "triage",
    "first_response_minutes": "",
    "normalized_phone": "",
    "degraded": "true",
    "decision_id": "",
    "error": "",
}


def _degraded(service, error):
    answer = dict(DEGRADED)
    answer["service"] = service
    answer["error"] = error[:200]
    return answer


def _caller_id(event):
    details = (event or {}).get("Details") or {}
    endpoint = (details.get("ContactData") or {}).get("CustomerEndpoint") or {}
    return str(endpoint.get("Address") or "")


def _service(event):
    parameters = ((event or {}).get("Details") or {}).get("Parameters") or {}
    return str(parameters.get("service") or os.environ.get("SUPPORTGATE_SERVICE") or "advanced_support")


def lambda_handler(event, context):
    service = _service(event)
    try:
        base = os.environ["SUPPORTGATE_URL"].rstrip("/")
        if not base.startswith(("https://", "http://")):
            return _degraded(service, "SUPPORTGATE_URL must start with https://")
        key = os.environ["SUPPORTGATE_API_KEY"]
        timeout = float(os.environ.get("SUPPORTGATE_TIMEOUT_SECONDS") or 3)
        caller = _caller_id(event)
        # The caller is also the person asking (a contact's mobile names the contact); the channel is the phone.
        query = urllib.parse.urlencode(
            {"service": service, "phone": caller, "contact_phone": caller, "channel": "phone", "format": "flat"}
        )
        request = urllib.request.Request(  # noqa: S310 (scheme checked above)
            f"{base}/v1/entitlements/check?{query}",
            headers={"X-API-Key": key, "Accept": "application/json", "User-Agent": "supportgate-amazon-connect/1"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            body = json.loads(response.read(64 * 1024).decode("utf-8"))
        if not isinstance(body, dict):
            return _degraded(service, "unexpected answer")
        # Connect's STRING_MAP validation: flat, strings only.
        answer = {str(k): "" if v is None else str(v) for k, v in body.items() if not isinstance(v, (dict, list))}
        answer.setdefault("error", "")
        return answer
    except urllib.error.HTTPError as exc:
        return _degraded(service, f"http {exc.code}")
    except Exception as exc:  # timeouts, DNS, bad settings: the caller must still be routed
        return _degraded(service, type(exc).__name__)
