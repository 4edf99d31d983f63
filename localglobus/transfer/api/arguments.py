"""Request parsing for the Transfer routes: the JSON body, query numbers within bounds,
booleans as every client sends them, ids, and the `fields` parameter."""

from __future__ import annotations

import uuid

from flask import request

from localglobus.errors import bad_request


def body() -> dict:
    """The JSON object sent with the request."""
    data = request.get_json(silent=True, force=True)
    if not isinstance(data, dict):
        raise bad_request("Request body must be a JSON object")
    return data


# No query number of Transfer is meaningful beyond a 32-bit count; larger ones (20 digits)
# would overflow SQLite's integers and turn a client's typo into a 500.
MAX_NUMBER = 2**31 - 1


def int_arg(name: str, default: int, low: int = 0, high: int = MAX_NUMBER) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    # int() would also take "+5", " 5" and "5_000"; Globus takes plain digits.
    text = raw[1:] if raw.startswith("-") else raw
    if not text.isascii() or not text.isdigit() or len(text) > 10:
        raise bad_request(f"Invalid value for {name}: {raw!r}")
    value = int(raw)
    if value < low or value > high:
        raise bad_request(f"{name} must be between {low} and {high}")
    return value


def bool_value(raw, default: bool = False) -> bool:
    """Booleans as the SDK (`1|0`), the JS SDK (`true|false`) and JSON send them."""
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        return raw
    text = str(raw).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise bad_request(f"Invalid boolean {raw!r}")


def require_uuid(value, what: str = "id") -> str:
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        raise bad_request(f"Invalid {what}: {value!r}") from None


def only_fields(items: list[dict]) -> list[dict]:
    """Apply the `fields` query parameter (globus-cli sends `fields=task_id`)."""
    raw = request.args.get("fields")
    if not raw:
        return items
    wanted = {f.strip() for f in raw.split(",") if f.strip()} | {"DATA_TYPE"}
    return [{k: v for k, v in item.items() if k in wanted} for item in items]
