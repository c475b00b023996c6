"""Every request bounded and typed before anything parses it for the domain.

One middleware, after routing (so it knows the route's body type), before the handler:

- body size: a route's limit (a few KB for logging in, generous but finite elsewhere) → 413,
  from Content-Length before reading and again while reading;
- form posts: at most MAX_FORM_FIELDS fields (parsing 900,000 fields stalls the event loop) → 413;
- JSON: valid UTF-8 and at most MAX_JSON_DEPTH deep → 400; then decoded strictly against the
  route's body type, so "7" is not a rating → 422 naming the field;
- text: NUL and other control characters (tab, newline and carriage return aside) and the
  invisible text-direction controls (which can visually rewrite what surrounds them) are
  refused with 422 naming the field, in JSON strings, form values and the query string.

Nothing here decides who may do what; it only refuses what no handler should ever see.
"""

from __future__ import annotations

import datetime as dt
import re
from itertools import accumulate
from typing import Any
from urllib.parse import parse_qsl

import msgspec
from litestar.enums import RequestEncodingType
from litestar.exceptions import ClientException, HTTPException, ValidationException
from litestar.types import ASGIApp, Message, Receive, Scope, Send

KB = 1024
DEFAULT_BODY_LIMIT = 512 * KB
BODY_LIMITS = {  # path → bytes; logging in needs a username and a password, nothing more
    "/api/session": 8 * KB,
    "/login": 8 * KB,
}
MAX_FORM_FIELDS = 500
MAX_JSON_DEPTH = 64
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# C0 controls except tab, newline and carriage return; DEL; C1 controls; the bidi embedding,
# override and isolate controls and the Arabic letter mark.
FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
FORBIDDEN_MESSAGE = ("This contains a control character or an invisible text-direction mark. "
                     "Remove it and try again.")

# Sensible bounds for each date a person can send, by field name: (earliest, latest) as
# offsets in days from today, or fixed dates, and the words that finish "… must be". A year
# 0001 or 9999 is a typing slip. The API (JSON, below) and the pages (api/forms.parse_date)
# both check dates against this one table.
FLOOR = dt.date(1900, 1, 1)
PAST = "after 1900 and not in the future"
DATE_BOUNDS: dict[str, tuple[dt.date | int, dt.date | int, str]] = {
    "date_of_birth": (FLOOR, 0, PAST),
    "next_review_date": (-366, 2 * 366, "within two years of today"),
    "target_date": (-5 * 366, 10 * 366, "within ten years of today"),
    "offered_on": (FLOOR, 1, PAST),  # a day's grace for clocks and time zones
    "supplied_on": (FLOOR, 1, PAST),
    "date": (FLOOR, 2 * 366, "after 1900 and within two years of today"),
    "discussed_on": (FLOOR, 1, PAST),
    "start_date": (-366, 366, "within a year of today"),
    "review_date": (-366, 2 * 366, "within two years of today"),
}


def date_bounds(rule: str, today: dt.date | None = None) -> tuple[dt.date, dt.date, str] | None:
    """(earliest, latest, words) for a date field, or None if the field has no bounds."""
    bounds = DATE_BOUNDS.get(rule)
    if bounds is None:
        return None
    today = today or dt.date.today()
    lo, hi, words = bounds
    return (lo if isinstance(lo, dt.date) else today + dt.timedelta(days=lo),
            hi if isinstance(hi, dt.date) else today + dt.timedelta(days=hi), words)


_DEPTH_TABLE = bytes.maketrans(b"[{]}", b"\x01\x01\x02\x02")
_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.S)


class PayloadTooLarge(HTTPException):
    status_code = 413


def body_limit(path: str) -> int:
    return BODY_LIMITS.get(path, DEFAULT_BODY_LIMIT)


def json_depth(body: bytes) -> int:
    """How deeply arrays and objects nest, without recursion (strings ignored)."""
    brackets = _STRINGS.sub(b"", body).translate(_DEPTH_TABLE)
    steps = (1 if b == 1 else -1 for b in brackets if b in (1, 2))
    return max(accumulate(steps, initial=0))


def forbidden_text(value: Any, where: str = "") -> str | None:
    """The path of the first string (or key) holding a forbidden character, or None."""
    stack: list[tuple[str, Any]] = [(where, value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            if FORBIDDEN.search(item):
                return path or "body"
        elif isinstance(item, dict):
            for key, sub in item.items():
                name = f"{path}.{key}" if path else str(key)
                if isinstance(key, str) and FORBIDDEN.search(key):
                    return name
                stack.append((name, sub))
        elif isinstance(item, list):
            stack.extend((f"{path}.{i}" if path else str(i), sub) for i, sub in enumerate(item))
    return None


def date_out_of_bounds(value: Any, today: dt.date | None = None, where: str = "") -> tuple[str, str] | None:
    """(field, message) for the first date outside its field's bounds, or None."""
    today = today or dt.date.today()
    stack: list[tuple[str, Any]] = [(where, value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, dict):
            for key, sub in item.items():
                name = f"{path}.{key}" if path else str(key)
                bounds = date_bounds(key, today) if isinstance(key, str) else None
                if bounds and isinstance(sub, str):
                    try:
                        day = dt.date.fromisoformat(sub)
                    except ValueError:
                        continue  # not a date: the type check says so
                    lo, hi, words = bounds
                    if not lo <= day <= hi:
                        return name, f"Enter a date {words}."
                else:
                    stack.append((name, sub))
        elif isinstance(item, list):
            stack.extend((f"{path}.{i}" if path else str(i), sub) for i, sub in enumerate(item))
    return None


def refuse_text(field: str) -> ValidationException:
    return ValidationException(FORBIDDEN_MESSAGE, extra=[{"key": field, "message": FORBIDDEN_MESSAGE}])


class InputGuardMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope.get("query_string"):
            self._check_query(scope)
        if scope.get("method") not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope.get("path", ""))
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                raise ClientException("Content-Length is not a number.") from None
            if too_big:
                raise PayloadTooLarge(f"This request is too large: at most {limit // KB} KB is accepted here.")
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"This request is too large: at most {limit // KB} KB is accepted here.")
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if body and content_type == b"application/json":
            self._check_json(scope, body)
        elif body and content_type == b"application/x-www-form-urlencoded":
            self._check_form(body)

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    def _check_query(scope: Scope) -> None:
        raw = scope.get("query_string", b"")
        if not raw:
            return
        try:
            pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS,
                              errors="strict")
        except UnicodeDecodeError:
            raise ClientException("The address is not valid UTF-8.") from None
        except ValueError:
            raise PayloadTooLarge("Too many query parameters.") from None
        for name, value in pairs:
            if FORBIDDEN.search(name) or FORBIDDEN.search(value):
                raise refuse_text(name)

    @staticmethod
    def _check_form(body: bytes) -> None:
        try:
            pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS,
                              errors="strict")
        except UnicodeDecodeError:
            raise ClientException("The form is not valid UTF-8.") from None
        except ValueError:
            raise PayloadTooLarge(f"Too many form fields: at most {MAX_FORM_FIELDS} are accepted.") from None
        for name, value in pairs:
            if FORBIDDEN.search(name) or FORBIDDEN.search(value):
                raise refuse_text(name)

    @staticmethod
    def _check_json(scope: Scope, body: bytes) -> None:
        try:
            body.decode("utf-8")
        except UnicodeDecodeError:
            raise ClientException("The request body is not valid UTF-8.") from None
        if json_depth(body) > MAX_JSON_DEPTH:
            raise ClientException(f"The JSON is nested too deeply (at most {MAX_JSON_DEPTH} levels).")
        try:
            value = msgspec.json.decode(body)
        except msgspec.DecodeError:
            raise ClientException("The request body is not valid JSON.") from None
        if (field := forbidden_text(value)) is not None:
            raise refuse_text(field)
        if (bad := date_out_of_bounds(value)) is not None:
            raise ValidationException(bad[1], extra=[{"key": bad[0], "message": bad[1]}])
        handler = scope.get("route_handler")
        data_field = getattr(handler, "parsed_data_field", None)
        kwarg = getattr(data_field, "kwarg_definition", None)
        if data_field is None or getattr(kwarg, "media_type", RequestEncodingType.JSON) != RequestEncodingType.JSON:
            return
        target = data_field.annotation
        if not (isinstance(target, type) and issubclass(target, msgspec.Struct)):
            return
        try:
            # Strict: no string for a number, no number for a string. Litestar's own
            # decoding (lenient, for query strings) runs after this and sees the same body.
            msgspec.json.decode(body, type=target, strict=True)
        except msgspec.ValidationError as exc:
            raise ValidationException(str(exc), extra=[{"key": "body", "message": str(exc)}]) from None
