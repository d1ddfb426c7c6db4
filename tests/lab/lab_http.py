"""A tiny HTTP client for the lab tests: never follows redirects, keeps repeated headers (a flat dict
would lose the second `Set-Cookie`), and closes every connection."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from loginprobe.lab.server import Lab


@dataclass(frozen=True)
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return [v for k, v in self.headers if k.lower() == name.lower()]

    @property
    def text(self) -> str:
        return self.body.decode()

    def json(self) -> Any:
        return json.loads(self.body)

    def cookie(self, name: str) -> dict[str, str] | None:
        """The `Set-Cookie` for `name`: {"value": ..., lower-cased attribute: value or ""}."""
        for header in self.all("Set-Cookie"):
            first, *attributes = [part.strip() for part in header.split(";")]
            key, _, value = first.partition("=")
            if key == name:
                parsed = {"value": value}
                for attribute in attributes:
                    attr, _, attr_value = attribute.partition("=")
                    parsed[attr.lower()] = attr_value
                return parsed
        return None


def fetch(
    url: str,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes | str | None = None,
    proxy: str | None = None,
) -> Reply:
    """One request on its own connection, closed afterwards; through `proxy` as an absolute URI."""
    parts = urlsplit(proxy or url)
    target = url if proxy else (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    host = "127.0.0.1" if parts.hostname == "localhost" else parts.hostname
    connection = http.client.HTTPConnection(host or "", parts.port or 80, timeout=10)
    try:
        sent = dict(headers or {})
        if parts.hostname == "localhost" and not proxy:
            sent.setdefault("Host", parts.netloc)
        connection.request(method, target, body=body, headers=sent)
        response = connection.getresponse()
        return Reply(response.status, response.getheaders(), response.read())
    finally:
        connection.close()


def form_post(url: str, fields: dict[str, str], **kwargs: Any) -> Reply:
    headers = {"Content-Type": "application/x-www-form-urlencoded", **kwargs.pop("headers", {})}
    return fetch(url, "POST", headers=headers, body=urlencode(fields), **kwargs)


def sign_in(lab: Lab, base: str | None = None) -> str:
    """Log in through the form; returns the session cookie value."""
    reply = form_post((base or lab.app_url) + "/login", {"username": lab.username, "password": lab.password})
    assert reply.status == 303, reply.text
    cookie = reply.cookie("session")
    assert cookie is not None
    return cookie["value"]
