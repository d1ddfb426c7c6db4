"""The JavaScript a WebKitGTK run injects or executes over WebDriver: the in-page observer (fetch/XHR,
their bodies, each origin's first localStorage), the page-state snapshot, the credentialed fetch of the
bearer and API-key flows, and the visible-form probe."""

from __future__ import annotations

from loginprobe.flows import snapshots

# Injected at document start in every frame: reports each origin's first localStorage, and every
# fetch/XHR the page makes (status, response headers it may read, the header names it set), through
# the shell's script message handler (window.webkit.messageHandlers.loginprobe).
OBSERVER_JS = r"""(() => {
  if (window.__loginprobeObserver) return;
  window.__loginprobeObserver = true;
  const post = (m) => { try { window.webkit.messageHandlers.loginprobe.postMessage(JSON.stringify(m)); }
                        catch (e) { /* no handler (not loginprobe's shell): nothing to report to */ } };
  try {
    if (window.top === window) {
      const items = {};
      for (let i = 0; i < localStorage.length; i++) {
        const k = localStorage.key(i); items[k] = localStorage.getItem(k);
      }
      post({kind: 'storage', origin: location.origin, items});
    }
  } catch (e) { /* opaque origins and blocked storage have nothing to report */ }
  const MAX_BODY = 65536;  // flows/bodies.py's rule: small textual bodies only
  const readable = (type, length) => /json|text|xml|javascript|x-www-form-urlencoded/i.test(type || '')
    && !(Number(length) > MAX_BODY);
  const names = (h) => { try { return [...new Headers(h || {}).keys()]; } catch (e) { return []; } };
  const origFetch = window.fetch;
  if (origFetch) window.fetch = function (input, init) {
    const raw = typeof input === 'string' ? input : (input && input.url) || String(input);
    const url = new URL(raw, location.href).href;
    const method = ((init && init.method) || (input && input.method) || 'GET').toUpperCase();
    const set = names((init && init.headers) || (input && input.headers));
    return origFetch.apply(this, arguments).then((r) => {
      post({kind: 'fetch', url, method, set, status: r.status, headers: [...r.headers]});
      if (readable(r.headers.get('content-type'), r.headers.get('content-length'))) {
        // A copy of the body, read beside the page's own (WebKitGTK keeps no data of a fetch resource).
        r.clone().text().then((body) => post({kind: 'body', url, method, body: body.slice(0, MAX_BODY)}),
                              () => {});
      }
      return r;
    }, (e) => { post({kind: 'fetch', url, method, set, error: String(e)}); throw e; });
  };
  const open = XMLHttpRequest.prototype.open, send = XMLHttpRequest.prototype.send,
        setHeader = XMLHttpRequest.prototype.setRequestHeader;
  XMLHttpRequest.prototype.open = function (method, url) {
    this.__lp = {method: String(method).toUpperCase(), url: new URL(url, location.href).href, set: []};
    return open.apply(this, arguments);
  };
  XMLHttpRequest.prototype.setRequestHeader = function (name) {
    if (this.__lp) this.__lp.set.push(String(name).toLowerCase()); return setHeader.apply(this, arguments);
  };
  XMLHttpRequest.prototype.send = function () {
    const lp = this.__lp;
    if (lp) this.addEventListener('loadend', () => {
      const headers = (this.getAllResponseHeaders() || '').trim().split(/\r?\n/).filter(Boolean)
        .map((l) => [l.slice(0, l.indexOf(':')).trim(), l.slice(l.indexOf(':') + 1).trim()]);
      post({kind: 'xhr', url: lp.url, method: lp.method, set: lp.set, status: this.status || null, headers});
      const type = this.getResponseHeader('content-type'), length = this.getResponseHeader('content-length');
      const text = this.responseType === '' || this.responseType === 'text' ? String(this.responseText)
        : this.responseType === 'json' && this.response !== null ? JSON.stringify(this.response) : null;
      if (text !== null && readable(type, length)) {
        post({kind: 'body', url: lp.url, method: lp.method, body: text.slice(0, MAX_BODY)});
      }
    });
    return send.apply(this, arguments);
  };
})();"""

PAGE_STATE_JS = (
    "const done = arguments[arguments.length - 1];\n"
    f"({snapshots.PAGE_STATE_JS})().then(done, (e) => done({{error: String(e)}}));"
)

FETCH_JS = """const [url, headers, done] = arguments;
fetch(url, {headers, credentials: 'include'}).then((r) => done({status: r.status}),
  (e) => done({status: null, error: String(e)}));"""

FORM_SHOWN_JS = """return [...document.querySelectorAll(arguments[0])].some(
  (e) => e.offsetParent !== null || e.getClientRects().length > 0);"""

# The one primary button of an interstitial page (consent, "continue"), by flows/steps.py's rule: no
# visible field to type into, and exactly one visible button whose name starts with a primary word
# (arguments: steps.PRIMARY_NAME's pattern, steps.TYPING_FIELDS), else the one such button inside a
# form; else null.
INTERSTITIAL_JS = """const [pattern, typing] = arguments, primary = new RegExp(pattern, 'i');
const shown = (e) => (e.offsetParent !== null || e.getClientRects().length > 0)
  && getComputedStyle(e).visibility !== 'hidden';
if ([...document.querySelectorAll(typing)].some(shown)) return null;
const name = (e) => ((e.textContent || '').trim() || (e.value || '').trim()
  || (e.getAttribute('aria-label') || '').trim()).replace(/\\s+/g, ' ');
const buttons = [...document.querySelectorAll(
  "button, input[type='submit'], input[type='button'], [role='button']")]
  .filter((e) => shown(e) && primary.test(name(e)));
if (buttons.length === 1) return buttons[0];
const inForm = buttons.filter((e) => e.closest('form'));
return inForm.length === 1 ? inForm[0] : null;"""
