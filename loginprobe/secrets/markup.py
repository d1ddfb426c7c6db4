"""XML, HTML and inline code redacted by text node, attribute value and string literal, never as raw text.

XML goes through xml.etree (comments and processing instructions kept), HTML through html.parser: only
the text nodes and start tags that change are rewritten, the rest of the document stays byte for byte.
Inline scripts and styles are redacted inside their string literals and comments only, so a secret
that equals a piece of code never breaks the script.
"""

from __future__ import annotations

import html
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from typing import Any

from loginprobe.secrets import Redactor
from loginprobe.secrets.structure import json_text, url

# -- XML and HTML --------------------------------------------------------------------------------


def xml_document(blob: bytes, redactor: Redactor) -> bytes | None:
    """An XML document redacted by text node and attribute value; None when it does not parse."""
    parser = ET.XMLParser(target=ET.TreeBuilder(insert_comments=True, insert_pis=True))
    try:
        root = ET.fromstring(blob, parser=parser)
    except ET.ParseError:
        return None
    changed = False
    for element in root.iter():
        for attr in ("text", "tail"):
            value = getattr(element, attr)
            if isinstance(value, str) and (cleaned := redactor.text(value)) != value:
                setattr(element, attr, cleaned)
                changed = True
        for name, value in element.attrib.items():
            if (cleaned := redactor.text(value)) != value:
                element.set(name, cleaned)
                changed = True
    if not changed:
        return blob
    declared = blob.lstrip().startswith(b"<?xml")
    written: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=declared)
    return written


class _MarkupRewriter(HTMLParser):
    """Records where each construct starts, so only changed text nodes and tags are rewritten."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.events: list[tuple[tuple[int, int], str, Any]] = []

    def _at(self, kind: str, payload: Any = None) -> None:
        self.events.append((self.getpos(), kind, payload))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._at("start", (tag, attrs))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._at("start", (tag, attrs))

    def handle_data(self, data: str) -> None:
        self._at("data", self.cdata_elem)  # set inside script/style

    def handle_endtag(self, tag: str) -> None:
        self._at("raw")

    def handle_comment(self, data: str) -> None:
        self._at("comment")

    def handle_decl(self, decl: str) -> None:
        self._at("raw")

    def handle_pi(self, data: str) -> None:
        self._at("raw")

    def unknown_decl(self, data: str) -> None:
        self._at("raw")


def _attribute(attrs: list[tuple[str, str | None]], name: str, value: str, redactor: Redactor) -> str:
    if name == "value" and (redactor.is_secret(value) or ("type", "password") in attrs):
        return redactor.replace(value)
    if name in ("href", "src", "action", "formaction", "data", "poster", "cite"):
        return url(value, redactor)
    return redactor.text(value)


def markup(text: str, redactor: Redactor) -> str:
    """An HTML document redacted by text node and attribute value; inline code inside its literals."""
    parser = _MarkupRewriter()
    try:
        parser.feed(text)
        parser.close()
    except AssertionError:  # html.parser's way of refusing some malformed declarations
        return redactor.text(text)
    starts = [0]  # html.parser counts lines by "\n" only
    for line in text.split("\n"):
        starts.append(starts[-1] + len(line) + 1)
    offsets = [starts[line - 1] + column for (line, column), _kind, _payload in parser.events]
    out = [text[: offsets[0]] if offsets else text]
    script_type = ""
    for index, (_pos, kind, payload) in enumerate(parser.events):
        raw = text[offsets[index] : offsets[index + 1] if index + 1 < len(offsets) else len(text)]
        if kind == "start":
            tag, attrs = payload
            script_type = next((v or "" for n, v in attrs if n == "type"), "") if tag == "script" else ""
            cleaned = [(n, v if v is None else _attribute(attrs, n, v, redactor)) for n, v in attrs]
            if cleaned != attrs:
                rendered = "".join(f" {n}" if v is None else f' {n}="{html.escape(v)}"' for n, v in cleaned)
                raw = f"<{tag}{rendered}{' /' if raw.rstrip().endswith('/>') else ''}>"
        elif kind == "data" and payload == "script":
            cleaned_json = json_text(raw, redactor) if "json" in script_type.lower() else None
            raw = cleaned_json.replace("</", "<\\/") if cleaned_json is not None else code(raw, redactor)
        elif kind == "data" and payload == "style":
            raw = code(raw, redactor, js=False)
        elif kind in ("data", "comment"):
            value = html.unescape(raw) if kind == "data" else raw
            cleaned_text = redactor.text(value)
            if cleaned_text != value:
                raw = html.escape(cleaned_text, quote=False) if kind == "data" else cleaned_text
        out.append(raw)
    return "".join(out)


# -- inline code -------------------------------------------------------------------------------

_REGEX_BEFORE = set("(,=:[!&|?{};+-*%<>~^") | {""}


def code(source: str, redactor: Redactor, *, js: bool = True) -> str:
    """JavaScript (or CSS) with secrets replaced inside string literals and comments only.

    A secret equal to a piece of code is never replaced, so the script still parses.
    """
    out: list[str] = []
    last = i = 0
    n = len(source)
    previous = ""

    def literal(start: int, end: int) -> None:
        nonlocal last
        out.append(source[last:start])
        out.append(redactor.text(source[start:end]))
        last = end

    while i < n:
        char = source[i]
        if char in "'\"" or (js and char == "`"):
            j = i + 1
            while j < n and source[j] != char and (char == "`" or source[j] != "\n"):
                j += 2 if source[j] == "\\" else 1
            literal(i + 1, min(j, n))
            i, previous = j + 1, "a"
            continue
        if char == "/" and source.startswith("/*", i):
            j = source.find("*/", i + 2)
            j = n if j < 0 else j
            literal(i + 2, j)
            i = j + 2
            continue
        if js and char == "/" and source.startswith("//", i):
            j = source.find("\n", i)
            j = n if j < 0 else j
            literal(i + 2, j)
            i = j
            continue
        if js and char == "/" and previous in _REGEX_BEFORE:
            j, in_class = i + 1, False  # a regex literal: skipped whole, never rewritten
            while j < n and source[j] != "\n" and (in_class or source[j] != "/"):
                if source[j] == "\\":
                    j += 1
                elif source[j] in "[]":
                    in_class = source[j] == "["
                j += 1
            i, previous = j + 1, "a"
            continue
        if not char.isspace():
            previous = char
        i += 1
    out.append(source[last:])
    return "".join(out)
