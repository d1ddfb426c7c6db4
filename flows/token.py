"""Bearer token and API key: a page of the app calls the protected resource with `fetch()`, as a
single-page app does, so the request goes through the browser's own cache, cookies and CORS."""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

from playwright.sync_api import Page

from loginprobe.config.settings import Site
from loginprobe.evidence import origin_of
from loginprobe.flows.base import FlowFailed, register, run_timeout_ms

# `page.evaluate` has no timeout of its own, so the page bounds its own fetch (headers and body) by
# the run's timeout: whatever the server or the browser does, the promise settles.
_FETCH = """async ({url, headers, timeoutMs}) => {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException(
    `no answer within ${timeoutMs / 1000} s`, 'TimeoutError')), timeoutMs);
  try {
    const response = await fetch(url, {headers, credentials: 'include', signal: controller.signal});
    try {
      await response.arrayBuffer();  // the whole answer, so the request is finished, not pending
    } catch (error) {
      return {status: response.status, error: String(error)};
    }
    return {status: response.status};
  } catch (error) {
    return {status: null, error: String(error)};
  } finally {
    clearTimeout(timer);
  }
}"""


def _with_query(url: str, name: str, value: str) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&{urlencode({name: value})}" if parts.query else urlencode({name: value})
    return urlunsplit(parts._replace(query=query))


def _start_page(page: Page, site: Site) -> None:
    # Calling the API from a page of its own origin, as the app does; when the only URL given is
    # the API itself, the origin's root stands in for the app page.
    start = site.url if site.url != site.target else origin_of(site.target) + "/"
    page.goto(start)


def call_protected(page: Page, site: Site, secret: str | None, default_name: str, scheme: str | None) -> None:
    """fetch() the protected URL with the credential in a header or the query string."""
    url, headers = site.target, {}
    name = site.token.name or default_name
    if secret is not None:
        if site.token.location == "query":
            url = _with_query(url, name, secret)
        else:
            headers[name] = f"{scheme} {secret}" if scheme else secret
    # No http_credentials in these contexts: the probe has Chromium answer a Basic/Digest challenge to
    # this fetch with CancelAuth (flows/challenges.py), else the request would be held forever.
    result = page.evaluate(_FETCH, {"url": url, "headers": headers, "timeoutMs": run_timeout_ms()})
    if result.get("status") is None:
        raise FlowFailed(f"fetch({site.target}) failed in the page: {result.get('error')}")


@register("bearer")
def bearer_login(page: Page, site: Site) -> None:
    """From a page of the app, call the protected URL with `Authorization: Bearer <token>`."""
    _start_page(page, site)
    token = site.credentials.token.get_secret_value() if site.credentials.token else None
    default = "Authorization" if site.token.location == "header" else "access_token"
    call_protected(page, site, token, default, site.token.scheme if site.token.location == "header" else None)


@register("api-key")
def api_key_login(page: Page, site: Site) -> None:
    """From a page of the app, call the protected URL with the API key in a header or parameter."""
    _start_page(page, site)
    key = site.credentials.api_key.get_secret_value() if site.credentials.api_key else None
    default = "X-API-Key" if site.token.location == "header" else "api_key"
    call_protected(page, site, key, default, None)
