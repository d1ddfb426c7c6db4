"""Request and response bodies, HAR entries and Playwright trace events, redacted field by field.

A trace (`trace.zip`) holds JSON-lines members: `*.network` has one HAR entry per `resource-snapshot`,
`*.trace` has actions (`fill` with what was typed), their logs (`fill("…")`) and DOM snapshots (an
input's value as `__playwright_value_`). Each is redacted where the secret stands.
"""

from __future__ import annotations

import base64
import binascii
import typing
from typing import Any

from loginprobe.secrets import Redactor
from loginprobe.secrets.markup import markup
from loginprobe.secrets.rules import SECRET_SELECTOR, TYPING_METHODS
from loginprobe.secrets.structure import cookie_value, json_text, json_value, query


def body(text: str, mime: str, redactor: Redactor) -> str:
    """A request or response body: form fields by name, JSON by member, anything else as free text."""
    mime = mime.lower()
    stripped = text.lstrip()
    if "json" in mime or stripped.startswith(("{", "[")):
        cleaned = json_text(text, redactor)
        if cleaned is not None:
            return cleaned
    if "x-www-form-urlencoded" in mime or (not mime and "=" in text and "<" not in text):
        return query(text, redactor)
    if "html" in mime or stripped.startswith("<"):
        return markup(text, redactor)
    return redactor.text(text)


# -- HAR entries and trace events --------------------------------------------------------------


def har_entry(entry: dict[str, Any], redactor: Redactor) -> dict[str, Any]:
    """One HAR entry (also a trace's `resource-snapshot`), bodies decoded, redacted by type, re-encoded."""
    bodies: list[tuple[str, str, str]] = []
    for side in ("request", "response"):
        message = entry.get(side)
        if not isinstance(message, dict):
            continue
        for cookie in message.get("cookies") or []:
            if isinstance(cookie, dict) and isinstance(cookie.get("value"), str):
                cookie["value"] = cookie_value(str(cookie.get("name", "")), cookie["value"], redactor)
        for container_key in ("postData", "content"):
            container = message.get(container_key)
            if isinstance(container, dict) and isinstance(container.get("text"), str):
                bodies.append((side, container_key, _har_body(container, redactor)))
                container["text"] = ""  # the walk below must not search the body text a second time
    cleaned = typing.cast(dict[str, Any], json_value(entry, redactor))
    for side, container_key, text in bodies:
        cleaned[side][container_key]["text"] = text
        entry[side][container_key]["text"] = text
    return cleaned


def _har_body(container: dict[str, Any], redactor: Redactor) -> str:
    """A HAR postData/content text redacted by its mime type, base64 kept when it was base64."""
    text = str(container.get("text"))
    mime = str(container.get("mimeType", ""))
    if not text:
        return text
    if container.get("encoding") == "base64":
        try:
            decoded = base64.b64decode(text, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return text  # binary content (an image, a font): no text to redact
        cleaned = body(decoded, mime, redactor)
        return text if cleaned == decoded else base64.b64encode(cleaned.encode("utf-8")).decode("ascii")
    return body(text, mime, redactor)


def trace_event(event: dict[str, Any], redactor: Redactor) -> dict[str, Any]:
    """One line of a Playwright `*.trace` / `*.network` member."""
    snapshot = event.get("snapshot")
    if event.get("type") == "resource-snapshot" and isinstance(snapshot, dict):
        event = {**event, "snapshot": har_entry(snapshot, redactor)}
    params = event.get("params")
    if event.get("method") in TYPING_METHODS and isinstance(params, dict):
        selector = SECRET_SELECTOR.search(str(params.get("selector", "")))
        typed = {}
        for field in ("value", "text"):
            value = params.get(field)
            if isinstance(value, str) and (selector or redactor.is_secret(value)):
                typed[field] = redactor.replace(value)
        if typed:
            event = {**event, "params": {**params, **typed}}
    if event.get("type") == "log" and isinstance(event.get("message"), str):
        event = {**event, "message": redactor.quoted(event["message"])}  # `fill("…")` quotes what was typed
    return typing.cast(dict[str, Any], json_value(event, redactor))
