"""Redirect stubs: small HTML pages whose only content sends the browser elsewhere.

Sites move articles and leave behind a page with ``<meta http-equiv="refresh" content="0;
url=...">`` (quoted or not, sometimes inside ``<noscript>``) or a script setting
``location.href`` / calling ``location.replace(...)``. A browser follows them like an HTTP
redirect; ``hubwatch.crawl.fetch`` does too (same hop limit, loop detection and host rules),
so such a page is never stored as a document of its own.
"""

from __future__ import annotations

import re
from urllib.parse import urljoin, urlsplit

#: Bodies larger than this are pages, whatever refresh they carry (bytes, after decoding
#: Content-Encoding): stubs are a few hundred bytes.
MAX_STUB_BYTES = 16 * 1024
#: A refresh later than this (seconds) reloads a live page; it is not a redirect.
MAX_REFRESH_DELAY = 10
#: Visible text a stub may carry ("If you are not redirected, click here"), in characters.
MAX_STUB_TEXT = 200

_META = re.compile(r"<meta\b[^>]*>", re.IGNORECASE)
_REFRESH = re.compile(r"""http-equiv\s*=\s*["']?\s*refresh\b""", re.IGNORECASE)
_CONTENT = re.compile(r"""\bcontent\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
_REFRESH_VALUE = re.compile(r"""^\s*(\d+(?:\.\d+)?)?\s*[;,]?\s*(?:url\s*=\s*)?["']?([^"'\s]+)""", re.IGNORECASE)
_SCRIPT_TARGET = re.compile(
    r"""(?:(?:window|document|top|self|parent)\s*\.\s*)?location(?:\s*\.\s*href)?\s*=\s*["']([^"']+)["']"""
    r"""|location\s*\.\s*(?:replace|assign)\s*\(\s*["']([^"']+)["']\s*\)""", re.IGNORECASE)
_SCRIPTS = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]*>|<!--.*?-->", re.DOTALL)


def stub_target(body: bytes, url: str) -> str | None:
    """The absolute URL a redirect stub sends to, or None when ``body`` is not a stub.

    ``body``: the page bytes (after Content-Encoding); ``url``: the URL it was fetched
    from (relative targets resolve against it). A stub is small (``MAX_STUB_BYTES``),
    carries little visible text (``MAX_STUB_TEXT``) and names an http(s) target other
    than itself by a refresh of at most ``MAX_REFRESH_DELAY`` seconds or a script.
    """
    if not body or len(body) > MAX_STUB_BYTES:
        return None
    text = body.decode("utf-8", "replace")
    if len(" ".join(_TAGS.sub(" ", _SCRIPTS.sub(" ", text)).split())) > MAX_STUB_TEXT:
        return None
    raw = _refresh_target(text) or _script_target(text)
    if not raw:
        return None
    target = urljoin(url, raw.strip())
    if urlsplit(target).scheme not in ("http", "https") or target.split("#")[0] == url.split("#")[0]:
        return None
    return target


def _refresh_target(text: str) -> str | None:
    for tag in _META.findall(text):
        if not _REFRESH.search(tag):
            continue
        content = _CONTENT.search(tag)
        value = next((g for g in content.groups() if g is not None), "") if content else ""
        match = _REFRESH_VALUE.match(value)
        if match and match.group(2) and float(match.group(1) or 0) <= MAX_REFRESH_DELAY:
            return match.group(2)
    return None


def _script_target(text: str) -> str | None:
    match = _SCRIPT_TARGET.search(text)
    return next((g for g in match.groups() if g), None) if match else None
