"""A small W3C WebDriver (classic) client over plain HTTP: only the commands loginprobe's WebKit engine uses.

WebKitGTK's driver (`WebKitWebDriver`) speaks WebDriver classic and no BiDi, so the standard library's
urllib is enough (measured: the `selenium` client would add a dependency for the same dozen calls).
Every call has a deadline; a refused or broken driver becomes `WebDriverError`, never a hang.
Spec: https://www.w3.org/TR/webdriver2/ (endpoints and error codes, §6.6 and §8-§16).
"""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

# The element reference key of the spec (§12.1): WebDriver serialises DOM elements as {KEY: id}.
ELEMENT_KEY = "element-6066-11e4-a52e-4f735466cecf"
# Slack added to the driver's own timeouts, so its answer comes before ours gives up.
HTTP_SLACK_S = 10.0


class WebDriverError(Exception):
    """The driver answered with an error (its `error` code is kept), or did not answer at all."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(f"{error}: {message}" if message else error)
        self.error = error
        self.message = message


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (the driver is told to listen there)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(slots=True)
class Driver:
    """A WebDriver endpoint (`http://127.0.0.1:PORT`)."""

    url: str

    def call(self, method: str, path: str, body: dict[str, Any] | None = None, timeout: float = 30.0) -> Any:
        """One command; returns the response's `value`."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                payload = json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            try:
                value = json.loads(exc.read() or b"{}").get("value", {})
            except ValueError:
                value = {}
            raise WebDriverError(
                str(value.get("error", f"HTTP {exc.code}")), str(value.get("message", ""))
            ) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise WebDriverError("no answer", f"{method} {path}: {reason}") from None
        return payload.get("value") if isinstance(payload, dict) else None

    def wait_ready(self, seconds: float) -> None:
        """Wait until `/status` answers (the driver has bound its port)."""
        deadline = time.monotonic() + seconds
        while True:
            try:
                self.call("GET", "/status", timeout=2.0)
                return
            except WebDriverError:
                if time.monotonic() > deadline:
                    raise WebDriverError(
                        "no answer", f"WebDriver at {self.url} did not start within {seconds:g} s"
                    ) from None
                time.sleep(0.1)

    def new_session(self, capabilities: dict[str, Any], timeout: float = 60.0) -> Session:
        value = self.call(
            "POST", "/session", {"capabilities": {"alwaysMatch": capabilities}}, timeout=timeout
        )
        return Session(self, str(value["sessionId"]), dict(value.get("capabilities", {})))


@dataclass(slots=True)
class Session:
    """One browser session: navigation, script, elements and cookies (all a flow needs)."""

    driver: Driver
    id: str
    capabilities: dict[str, Any] = field(default_factory=dict)
    timeout_s: float = 30.0

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        return self.driver.call(
            method, f"/session/{self.id}{path}", body, timeout=self.timeout_s + HTTP_SLACK_S
        )

    def set_timeouts(self, seconds: float) -> None:
        self.timeout_s = seconds
        ms = int(seconds * 1000)
        self._call("POST", "/timeouts", {"pageLoad": ms, "script": ms, "implicit": 0})

    def navigate(self, url: str) -> None:
        self._call("POST", "/url", {"url": url})

    @property
    def current_url(self) -> str:
        return str(self._call("GET", "/url"))

    def execute(self, script: str, *args: Any) -> Any:
        """Run a function body synchronously in the page (`return` gives the value back)."""
        return self._call("POST", "/execute/sync", {"script": script, "args": list(args)})

    def execute_async(self, script: str, *args: Any) -> Any:
        """Run a function body whose last argument is the callback to call with the result."""
        return self._call("POST", "/execute/async", {"script": script, "args": list(args)})

    def find(self, css: str) -> list[str]:
        """Element ids matching a CSS selector (none: an empty list)."""
        found = self._call("POST", "/elements", {"using": "css selector", "value": css})
        return [str(item[ELEMENT_KEY]) for item in found or []]

    def displayed(self, element: str) -> bool:
        return bool(self._call("GET", f"/element/{element}/displayed"))

    def clear(self, element: str) -> None:
        self._call("POST", f"/element/{element}/clear", {})

    def send_keys(self, element: str, text: str) -> None:
        self._call("POST", f"/element/{element}/value", {"text": text})

    def click(self, element: str) -> None:
        self._call("POST", f"/element/{element}/click", {})

    def cookies(self) -> list[dict[str, Any]]:
        """Cookies visible to the current document's URL (WebDriver's view of the jar, §14)."""
        return list(self._call("GET", "/cookie") or [])

    def delete_cookies(self) -> None:
        self._call("DELETE", "/cookie")

    def close(self) -> None:
        """End the session (the driver quits the browser); an already gone browser is fine."""
        try:
            self.driver.call("DELETE", f"/session/{self.id}", timeout=15.0)
        except WebDriverError:
            pass  # the browser died or the session ended already: nothing left to close
