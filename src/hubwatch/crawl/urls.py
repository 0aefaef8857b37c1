"""URL normalisation, host matching and the trust rules for canonical URLs.

One article must be one document however it was linked: feeds add ``utm_*``,
portals add ``spm``/``from``, links differ in host case, default port, fragment
and query order. ``normalize_url`` folds those variants before fetching;
``trusted_canonical`` then keys the document on the page's own canonical URL
when that URL deserves trust.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from w3lib.url import safe_url_string

#: Query parameters that only track where a click came from (never select content).
TRACKING_PARAMS = frozenset({
    "spm", "from", "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "mc_cid",
    "mc_eid", "igshid", "isappinstalled", "share_token", "sharer_shareid", "sharer_sharetime",
    "share_from", "shareuid", "wfr", "ref_src", "_ga", "_gl", "scene", "clicktime", "enterid",
    "srcid", "tt_from", "utm", "cre", "mod", "rfunc", "doct", "sessionid", "wechat_refer",
})
_TRACKING_PREFIXES = ("utm_", "hmsr", "hmpl", "hmcu", "hmkw", "hmci", "pk_", "mtm_")
_DEFAULT_PORTS = {"http": 80, "https": 443}
# Host labels that name a mobile or AMP edition of the same site.
_EDITION_LABELS = ("www.", "m.", "amp.", "wap.", "mobile.", "3g.")
_AMP_PATH = re.compile(r"^/amp(?=/)|/amp/?$|\.amp(?=\.html?$)")


def _is_tracking(name: str) -> bool:
    low = name.lower()
    return low in TRACKING_PARAMS or low.startswith(_TRACKING_PREFIXES)


def normalize_url(url: str) -> str:
    """Normalise an absolute http(s) URL into the key under which it is fetched once.

    Lower-cases scheme and host, drops the default port, the fragment and tracking
    parameters (``utm_*``, ``spm``, ``from``, ``fbclid``, ... see ``TRACKING_PARAMS``),
    sorts the remaining query parameters (blank values kept), percent-encodes unsafe
    characters (w3lib, WHATWG URL rules) and gives an empty path ``/``. The trailing
    slash of other paths is kept: only a page's canonical link may fold it.
    An IPv6 literal keeps its brackets. Non-http(s) input, and a URL that cannot be a
    URL at all (``http://host:1:2/``, see ``url_problem``), are returned stripped but
    otherwise unchanged: the fetcher then records why it cannot be fetched. Never raises.
    """
    url = url.strip()
    try:
        parts = urlsplit(safe_url_string(url))
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS:
            return url
        port = parts.port
    except ValueError:  # a port that is not a number, a bad IPv6 literal, ...
        return url
    host = (parts.hostname or "").rstrip(".")
    if ":" in host:  # IPv6 literal: the brackets are part of the authority (RFC 3986 §3.2.2)
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if parts.username or parts.password:
        netloc = f"{parts.netloc.rsplit('@', 1)[0]}@{netloc}"
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k))
    return urlunsplit((scheme, netloc, parts.path or "/", urlencode(query), ""))


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be fetched as an absolute http(s) URL, or None when it can.

    Catches what discovery meets in hostile listings: another scheme, no host, a port
    that is not a number in 0-65535 (``http://host:1:2/``), a broken IPv6 literal.
    """
    try:
        parts = urlsplit(url.strip())
        if parts.scheme.lower() not in _DEFAULT_PORTS:
            return f"not an http(s) URL: {url[:200]!r}"
        if not parts.hostname:
            return f"no host in {url[:200]!r}"
        parts.port  # noqa: B018 - raises ValueError for a bad port
        urlsplit(safe_url_string(url.strip())).port  # noqa: B018 - and after percent-encoding
    except ValueError as exc:
        return f"invalid URL {url[:200]!r}: {exc}"
    return None


def host_of(url: str) -> str:
    """``host`` or ``host:port`` (lower-case, default port dropped, IPv6 in brackets) of an
    absolute URL; ``""`` when the URL has no readable authority."""
    try:
        return urlsplit(normalize_url(url)).netloc.rsplit("@", 1)[-1]
    except ValueError:
        return ""


def _split_host_port(hostport: str) -> tuple[str, str]:
    """``("host", "port")`` of ``host[:port]`` / ``[v6][:port]`` (port ``""`` when absent)."""
    if hostport.startswith("["):
        host, _, rest = hostport.partition("]")
        return host + "]", rest[1:] if rest.startswith(":") else ""
    host, _, port = hostport.partition(":")
    return host, port


def _site_of(host: str) -> str:
    """The host without port and without a leading www/m/amp/wap edition label."""
    host = _split_host_port(host)[0]
    for label in _EDITION_LABELS:
        if host.startswith(label) and host.count(".") >= 2:
            return host[len(label):]
    return host


def is_allowed(url: str, allowed_hosts: set[str]) -> bool:
    """True when ``url`` is http(s) and its host is one of ``allowed_hosts``.

    An entry ``host:port`` matches that port only; a bare ``host`` matches any port.
    A mobile or AMP edition of an allowed site (``m.example.com`` or
    ``amp.example.com`` for ``www.example.com``) counts as the same site.
    """
    if not url.strip().lower().startswith(("http://", "https://")):
        return False
    try:
        urlsplit(url.strip()).port  # noqa: B018 - a port that is no port: no host matches
    except ValueError:
        return False
    host, port = _split_host_port(host_of(url))
    return bool(host) and any(_entry_matches(entry.strip().lower(), host, port) for entry in allowed_hosts)


def _entry_matches(entry: str, host: str, port: str) -> bool:
    entry_host, entry_port = _split_host_port(entry)
    if entry_port and entry_port != port:
        return False
    return entry_host == host or _site_of(entry_host) == _site_of(host)


def same_site_host(host: str, allowed_hosts: Iterable[str]) -> bool:
    """True when ``host`` (``host`` or ``host:port``, lower-case, as the fetcher keys
    hosts) is one of ``allowed_hosts`` or another edition of one of them: the bare,
    ``www.``, ``m.``, ``amp.`` and ``wap.`` forms of a site are one site (a 301
    from ``example.com`` to ``www.example.com``). Ports must agree exactly (an entry
    without a port means the scheme's default), so this is stricter than
    :func:`is_allowed`, which lets a bare entry match any port."""
    name, _, port = host.partition(":")
    for entry in allowed_hosts:
        entry = entry.strip().lower()
        if entry == host:
            return True
        entry_name, _, entry_port = entry.partition(":")
        if entry_port == port and _site_of(entry_name) == _site_of(name):
            return True
    return False


def strip_amp(url: str) -> str:
    """The URL without an AMP path marker (``/amp/...`` prefix, ``/amp`` suffix,
    ``.amp.html``) or ``amp`` query flag; used only when a page gives no trusted canonical."""
    parts = urlsplit(url)
    path = _AMP_PATH.sub("", parts.path) or "/"
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k.lower() != "amp"])
    return urlunsplit((parts.scheme, parts.netloc, path, query, ""))


def absolute_url(href: str | None, base: str | None) -> str | None:
    """``href`` resolved against ``base`` (protocol-relative links take the base's
    scheme); None for empty, javascript:, mailto: and other non-http(s) links."""
    href = (href or "").strip()
    if not href:
        return None
    if href[:8].lower().startswith(("http://", "https://")):
        return href  # already absolute: skip urljoin, the hot path when collecting links
    resolved = urljoin(base or "", href)
    return resolved if urlsplit(resolved).scheme.lower() in _DEFAULT_PORTS else None


def trusted_canonical(page_url: str, candidate: str | None, allowed_hosts: set[str]) -> str:
    """The normalised URL to key a document on: ``candidate`` (the page's
    rel=canonical / og:url, already absolute) when trustworthy, else the page URL
    (normalised, AMP marker stripped).

    Not trusted: non-http(s) candidates, a site root (path ``/`` or empty: seen on
    portals that put the home page in og:url), hosts outside ``allowed_hosts``
    (or, when that set is empty, outside the page's own site; mobile/AMP editions
    of the same site are fine). A canonical shared by pages with different content
    is the pipeline's check, not this function's.
    """
    fallback = strip_amp(normalize_url(page_url))
    if not candidate:
        return fallback
    resolved = absolute_url(candidate, page_url)
    if resolved is None:
        return fallback
    key = normalize_url(resolved)
    if urlsplit(key).path in ("", "/"):
        return fallback
    hosts = allowed_hosts or {host_of(page_url)}
    return key if is_allowed(key, hosts) else fallback
