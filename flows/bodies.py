"""Response bodies: which ones are read (error pages, JSON, the page a login submission led to), the
secrets and tokens registered from them, and the short redacted excerpt the checks quote."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Request

from loginprobe.evidence import Header, JwtRecord
from loginprobe.flows.exchange import clean_url
from loginprobe.jwts import decode_all
from loginprobe.parsing import html_text
from loginprobe.secrets import Redactor, secret_param

TEXTUAL = re.compile(r"json|text|xml|javascript|x-www-form-urlencoded", re.IGNORECASE)
MAX_BODY = 64 * 1024
EXCERPT = 300


def after_submission(request: Request) -> bool:
    """A POST, or the end of a redirect chain a POST started (Post/Redirect/Get)."""
    current: Request | None = request
    for _ in range(20):
        if current is None:
            return False
        if current.method.upper() == "POST":
            return True
        current = current.redirected_from
    return False


def register_json_secrets(data: Any, redactor: Redactor) -> None:
    """Token endpoints answer with JSON: every credential-named string in it is a secret."""
    if isinstance(data, dict):
        for key, value in data.items():
            if isinstance(value, str) and secret_param(str(key)):
                redactor.add(value)
            else:
                register_json_secrets(value, redactor)
    elif isinstance(data, list):
        for item in data:
            register_json_secrets(item, redactor)


def body_excerpt(
    request: Request,
    response: Any,
    status: int | None,
    headers: list[Header],
    index: int,
    server_date: datetime | None,
    jwts: list[JwtRecord],
    redactor: Redactor,
    kept: bytes | None,
) -> str | None:
    """A short, redacted excerpt of error and token bodies; every token in them is registered.

    `kept` is the body read as the request finished (Chromium drops a document's body once its page
    navigates on); otherwise the body is asked of the response now.
    """
    if response is None:
        return None
    after_submit = after_submission(request)
    if not wanted(status, headers, after_submit):
        return None
    length = next((v for k, v in headers if k.lower() == "content-length"), "")
    if length.strip().isdigit() and int(length) > MAX_BODY:
        return None  # never pull a huge body across the driver just to drop it
    try:
        body = kept or response.body()
    except PlaywrightError:
        return None
    if len(body) > MAX_BODY:
        return None
    text = body.decode("utf-8", "replace")
    found_in = f"response body of {request.method} {clean_url(request.url, redactor)}"
    return excerpt(text, headers, after_submit, found_in, index, server_date, jwts, redactor)


def wanted(status: int | None, headers: list[Header], after_submit: bool) -> bool:
    """Is this body read: an error page, JSON, or the HTML page a login submission led to?"""
    if status is None or (300 <= status < 400):
        return False
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
    if not TEXTUAL.search(content_type):
        return False
    html_after_submit = "html" in content_type.lower() and after_submit
    return status >= 400 or "json" in content_type.lower() or html_after_submit


def excerpt(
    text: str,
    headers: list[Header],
    after_submit: bool,
    found_in: str,
    index: int,
    server_date: datetime | None,
    jwts: list[JwtRecord],
    redactor: Redactor,
) -> str | None:
    """The excerpt of a body `wanted()` chose (any engine): secrets and tokens in it registered first."""
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "").lower()
    is_json, is_html = "json" in content_type, "html" in content_type
    if is_json:
        try:
            register_json_secrets(json.loads(text), redactor)
        except ValueError:
            pass  # not JSON after all; the JWT scan below still applies
    jwts.extend(
        decode_all(text, found_in=found_in, redactor=redactor, exchange_id=index, server_date=server_date)
    )
    # An HTML page is kept as the text a reader sees: its head and scripts would fill the excerpt.
    redacted = redactor.text(text)
    compact = html_text(redacted) if is_html else " ".join(redacted.split())
    return compact[:EXCERPT] or None
