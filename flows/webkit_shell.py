#!/usr/bin/python3
"""loginprobe's WebKitGTK browser shell: the program WebKitWebDriver starts instead of MiniBrowser.

It runs under the system Python with PyGObject (Debian: python3-gi, gir1.2-webkit2-4.1), never inside
loginprobe's virtualenv, and imports nothing of loginprobe. Why not MiniBrowser: in automation mode
the WebKitGTK 4.1 MiniBrowser always uses an ephemeral data manager (Tools/MiniBrowser/gtk/main.c:
`if (privateMode || automationMode) manager = webkit_website_data_manager_new_ephemeral()`), so a
returning user's cookies and cache cannot survive a restart there. This shell keeps them in a data
folder, and adds what WebDriver classic cannot give:

- a network log (JSON lines) from WebKitGTK's own WebKitWebResource signals: every request the page
  made (documents, fetch, XHR), redirects, statuses and response headers;
- HTTP authentication answered from the configured credentials (WebKitWebView::authenticate), each
  challenge logged;
- a user script injected at document start in every frame, before the site's own scripts.

Configuration comes as a JSON file named by `--config=PATH` (a private file: credentials never
appear on the command line, where a process list would show them).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from typing import Any

import gi

gi.require_version("WebKit2", "4.1")
gi.require_version("Soup", "3.0")
gi.require_version("Gtk", "3.0")
from gi.repository import Gtk, WebKit2  # noqa: E402

CONFIG_FLAG = "--config="
# WebKitAuthenticationScheme values (WebKit2 GTK API) by name, for the log.
AUTH_SCHEMES = {1: "default", 2: "Basic", 3: "Digest", 4: "HTML form", 5: "NTLM", 6: "Negotiate"}
# Bodies read for the checks (flows/bodies.py's rule; this shell imports nothing of loginprobe).
TEXTUAL = re.compile(r"json|text|xml|javascript|x-www-form-urlencoded", re.IGNORECASE)
MAX_BODY = 64 * 1024


class Shell:
    """One browser process: a web context on a data folder (or ephemeral), views made for automation."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config
        log_path = config.get("network_log")
        self.log = open(log_path, "a", buffering=1, encoding="utf-8") if log_path else None  # noqa: SIM115
        self.next_id = 0
        self.views: list[Any] = []
        data_dir = config.get("data_dir")
        if data_dir:
            manager = WebKit2.WebsiteDataManager(
                base_data_directory=os.path.join(data_dir, "data"),
                base_cache_directory=os.path.join(data_dir, "cache"),
            )
        else:
            manager = WebKit2.WebsiteDataManager.new_ephemeral()
        if config.get("ignore_tls_errors"):
            manager.set_tls_errors_policy(WebKit2.TLSErrorsPolicy.IGNORE)
        if config.get("proxy"):
            settings = WebKit2.NetworkProxySettings.new(config["proxy"], config.get("proxy_ignore") or None)
            manager.set_network_proxy_settings(WebKit2.NetworkProxyMode.CUSTOM, settings)
        self.context = WebKit2.WebContext(website_data_manager=manager)
        cookies = self.context.get_cookie_manager()
        if data_dir:
            cookies.set_persistent_storage(
                os.path.join(data_dir, "cookies.sqlite"), WebKit2.CookiePersistentStorage.SQLITE
            )
        self.content = WebKit2.UserContentManager()
        if config.get("init_script"):
            self.content.add_script(
                WebKit2.UserScript(
                    config["init_script"],
                    WebKit2.UserContentInjectedFrames.ALL_FRAMES,
                    WebKit2.UserScriptInjectionTime.START,
                    None,
                    None,
                )
            )
        # The in-page observer reports through window.webkit.messageHandlers.loginprobe.
        self.content.register_script_message_handler("loginprobe")
        self.content.connect("script-message-received::loginprobe", self._page_message)
        self.context.set_automation_allowed(True)
        self.context.connect("automation-started", self._automation_started)

    def emit(self, event: str, **fields: Any) -> None:
        if self.log is not None:
            self.log.write(json.dumps({"event": event, "t": time.time(), **fields}) + "\n")

    def _page_message(self, _content: Any, result: Any) -> None:
        try:
            message = json.loads(result.get_js_value().to_string())
        except ValueError:
            return  # not ours: a page can post to any handler name it sees
        self.emit("page", message=message)

    @staticmethod
    def _headers(headers: Any) -> list[list[str]]:
        pairs: list[list[str]] = []
        if headers is not None:
            headers.foreach(lambda name, value: pairs.append([name, value]))
        return pairs

    def _automation_started(self, context: Any, session: Any) -> None:
        info = WebKit2.ApplicationInfo()
        info.set_name("loginprobe-webkit")
        info.set_version(
            WebKit2.get_major_version(), WebKit2.get_minor_version(), WebKit2.get_micro_version()
        )
        session.set_application_info(info)
        session.connect("create-web-view", lambda *_: self.new_view())

    def new_view(self) -> Any:
        view = WebKit2.WebView(
            web_context=self.context, user_content_manager=self.content, is_controlled_by_automation=True
        )
        page = len(self.views)
        self.views.append(view)
        view.connect("resource-load-started", self._resource, page)
        view.connect("authenticate", self._authenticate, page)
        view.connect("create", lambda *_: self.new_view())
        window = Gtk.Window()
        window.set_default_size(1280, 800)
        window.add(view)
        window.show_all()
        return view

    def _resource(self, view: Any, resource: Any, request: Any, page: int) -> None:
        self.next_id += 1
        rid = self.next_id
        main = view.get_main_resource() == resource
        self.emit(
            "request",
            id=rid,
            page=page,
            method=request.get_http_method() or "GET",
            url=request.get_uri(),
            headers=self._headers(request.get_http_headers()),
            main=main,
        )

        def sent(_resource: Any, sent_request: Any, redirect: Any) -> None:
            if redirect is None:
                return
            self.emit(
                "redirect",
                id=rid,
                status=redirect.get_status_code(),
                url=redirect.get_uri(),
                headers=self._headers(redirect.get_http_headers()),
                to=sent_request.get_uri(),
                to_headers=self._headers(sent_request.get_http_headers()),
            )

        def finished(done: Any) -> None:
            response = done.get_response()
            fields: dict[str, Any] = {
                "id": rid,
                "url": done.get_uri(),
                "status": None if response is None else response.get_status_code(),
                "headers": [] if response is None else self._headers(response.get_http_headers()),
            }
            # Only documents: WebKitGTK keeps no data of a fetch/XHR resource (its get_data gives one NUL
            # byte); the in-page observer reads those bodies instead.
            if response is None or not main or not self._readable(response):
                self.emit("finished", **fields)
                return

            def read(_resource: Any, result: Any) -> None:
                # The body comes with its own "finished" event, so that whoever sees the end sees it too.
                try:
                    data = bytes(done.get_data_finish(result))
                    fields["body"] = data[:MAX_BODY].decode("utf-8", "replace")
                except Exception as exc:  # a body that cannot be read is only missing: say why
                    fields["body_error"] = str(exc)
                self.emit("finished", **fields)

            done.get_data(None, read)

        def failed(_resource: Any, error: Any) -> None:
            self.emit("failed", id=rid, error=error.message)

        resource.connect("sent-request", sent)
        resource.connect("finished", finished)
        resource.connect("failed", failed)

    @staticmethod
    def _readable(response: Any) -> bool:
        """A small textual body (JSON, text, HTML): what the checks quote, as flows/bodies.py reads them."""
        mime = response.get_mime_type() or ""
        length = response.get_content_length()
        return (
            bool(TEXTUAL.search(mime))
            and length <= MAX_BODY
            and response.get_status_code() not in range(300, 400)
        )

    def _authenticate(self, view: Any, request: Any, page: int) -> bool:
        credentials: dict[str, str] = self.config.get("http_credentials") or {}
        answer = bool(credentials) and not request.is_retry() and not request.is_for_proxy()
        self.emit(
            "challenge",
            page=page,
            host=request.get_host(),
            port=request.get_port(),
            realm=request.get_realm(),
            scheme=AUTH_SCHEMES.get(int(request.get_scheme()), str(int(request.get_scheme()))),
            retry=request.is_retry(),
            proxy=request.is_for_proxy(),
            answered=answer,
        )
        if answer:
            credential = WebKit2.Credential.new(
                credentials["username"], credentials["password"], WebKit2.CredentialPersistence.FOR_SESSION
            )
            request.authenticate(credential)
        else:
            # Go on without credentials, as a user who dismisses the dialog: the 401 page is shown.
            # (cancel() would abort the load with a network error and leave no response at all.)
            request.authenticate(None)
        return True


def main() -> int:
    if "--version" in sys.argv[1:]:
        # Asked without a display (`loginprobe browsers` and its tests): the library's own version.
        major, minor, micro = (
            WebKit2.get_major_version(),
            WebKit2.get_minor_version(),
            WebKit2.get_micro_version(),
        )
        print(f"WebKitGTK {major}.{minor}.{micro} (loginprobe's WebKitGTK shell)")
        return 0
    config: dict[str, Any] = {}
    rest = []
    for arg in sys.argv:
        if arg.startswith(CONFIG_FLAG):
            with open(arg[len(CONFIG_FLAG) :], encoding="utf-8") as handle:
                config = json.load(handle)
        else:
            rest.append(arg)
    Gtk.init(rest)
    Shell(config)
    Gtk.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
