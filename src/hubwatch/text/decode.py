"""Bytes to text with the charset rules a browser uses, and magic-byte sniffing.

Order (WHATWG Encoding "decode" + HTML "determining the character encoding"):
byte-order mark, then the HTTP ``charset``, then a ``<meta>`` prescan (here over a
much larger window than the standard 1024 bytes, because Chinese portals put the
declaration after kilobytes of script), then a detector. Two deviations, both
from pages met in the field:

- a ``gb2312``/``gbk`` label is decoded with GB18030 (WHATWG maps these labels to
  the gbk decoder, a subset of GB18030), so characters outside GB2312 survive;
- a label that the bytes contradict is overruled: pages re-saved as UTF-8 keep
  declaring gb2312, so bytes that validate as UTF-8 and hold non-ASCII are UTF-8
  whatever the label says; bytes that a declared UTF-8 cannot decode go to the
  detector.

A page whose declared charset fails on a few damaged bytes keeps that charset (with
U+FFFD for the damage) rather than being handed to the detector's guess.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from functools import lru_cache

from charset_normalizer import from_bytes
from w3lib.encoding import resolve_encoding

from hubwatch.crawl.bounded import sniff_binary as _name_binary

#: How far into the body the ``<meta>`` prescan looks (bytes).
META_SCAN_BYTES = 256 * 1024

_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_HTTP_CHARSET = re.compile(r"charset\s*=\s*[\"']?\s*([\w.:-]+)", re.IGNORECASE)
_META_CHARSET = re.compile(rb"<meta\b[^>]{0,512}?charset\s*=\s*[\"']?\s*([\w.:-]+)", re.IGNORECASE)
_XML_DECL = re.compile(rb"^\s*<\?xml\b[^>]{0,200}?encoding\s*=\s*[\"']\s*([\w.:-]+)", re.IGNORECASE)
# Labels browsers know that Python spells differently or w3lib does not map.
_EXTRA_LABELS = {"x-gbk": "gb18030", "gb_2312": "gb18030", "x-euc-cn": "gb18030", "cp936": "gb18030",
                 "windows-936": "gb18030", "x-big5": "big5hkscs", "x-sjis": "cp932"}


@dataclass(frozen=True)
class Decoded:
    """Decoded text: ``encoding`` is a Python codec name, ``source`` one of
    ``bom|http|meta|xml|detected|default`` (which rule decided)."""

    text: str
    encoding: str
    source: str


class DecodeError(ValueError):
    """No charset rule turned the bytes into text (mostly binary or corrupt input)."""


def codec_for_label(label: str | None) -> str | None:
    """The Python codec for a charset label as browsers read it, or None if unknown.

    gb2312/gbk/x-gbk -> gb18030, latin-1/ascii -> cp1252 (WHATWG Encoding §4.2 label table).
    Names that Python knows but no browser does (``base64``, ``rot13``, ``hex``,
    ``undefined``, ``unicode_escape``, ``idna``...) are unknown: the other charset rules
    decide, as a browser would ignore such a label (WHATWG Encoding "get an encoding").
    """
    if not label:
        return None
    label = label.strip().strip("\"'").lower()
    if label in _EXTRA_LABELS:
        return _EXTRA_LABELS[label]
    codec = resolve_encoding(label)
    if codec in ("utf-16", "utf-32", "utf_16", "utf_32"):
        return None  # a UTF-16 label on ASCII-compatible bytes is a lie; browsers treat it as UTF-8
    return codec if codec and _is_web_codec(codec) else None


# Python's own text codecs that are no charset of the web (Python docs, codecs,
# "Python Specific Encodings"): reading a page with them is garbage or an exception.
_PYTHON_ONLY = frozenset({"undefined", "unicode-escape", "raw-unicode-escape", "idna", "punycode",
                          "palmos", "mbcs", "oem", "utf-7"})


@lru_cache(maxsize=256)
def _is_web_codec(codec: str) -> bool:
    try:
        info = codecs.lookup(codec)
    except LookupError:
        return False
    # Bytes-to-bytes (base64, zlib, hex, uu) and str-to-str (rot13) codecs are not text codecs.
    return getattr(info, "_is_text_encoding", True) and info.name not in _PYTHON_ONLY


def charset_from_content_type(content_type: str | None) -> str | None:
    """The ``charset`` parameter of a Content-Type header value, as written, or None."""
    match = _HTTP_CHARSET.search(content_type or "")
    return match.group(1) if match else None


def meta_charset(body: bytes) -> str | None:
    """The first ``<meta charset>`` / ``http-equiv`` charset label in the first
    ``META_SCAN_BYTES`` bytes, as written, or None. Tolerates quotes, spaces and
    a missing ``http-equiv``."""
    match = _META_CHARSET.search(body, 0, META_SCAN_BYTES)
    return match.group(1).decode("ascii", "replace") if match else None


def _bom(body: bytes) -> Decoded | None:
    for bom, codec in _BOMS:
        if body.startswith(bom):
            return Decoded(body[len(bom):].decode(codec, "replace"), codec, "bom")
    return None


def _strict(body: bytes, codec: str) -> str | None:
    try:
        return body.decode(codec)
    except (UnicodeError, LookupError):  # UnicodeError: a codec that fails whole, not per byte
        return None


def _utf8_overrules(body: bytes, codec: str) -> str | None:
    """UTF-8 text when the bytes validate as UTF-8 with non-ASCII though the label says otherwise."""
    if codec == "utf-8" or body.isascii():
        return None
    return _strict(body, "utf-8")


def _labelled(body: bytes, label: str | None, source: str) -> Decoded | None:
    codec = codec_for_label(label)
    if codec is None:
        return None
    overruled = _utf8_overrules(body, codec)
    if overruled is not None:
        return Decoded(overruled, "utf-8", "detected")
    text = _strict(body, codec)
    return Decoded(text, codec, source) if text is not None else None


def _detect(body: bytes) -> Decoded:
    """Last resort: strict UTF-8, then charset-normalizer, then GB18030, then cp1252."""
    if body.isascii():
        return Decoded(body.decode("ascii"), "utf-8", "default")
    text = _strict(body, "utf-8")
    if text is not None:
        return Decoded(text, "utf-8", "detected")
    best = from_bytes(body[:200_000]).best()
    if best is not None:
        codec = codec_for_label(best.encoding) or best.encoding
        text = _strict(body, codec)
        if text is not None:
            return Decoded(text, codec, "detected")
    text = _strict(body, "gb18030")
    if text is not None:
        return Decoded(text, "gb18030", "detected")
    return Decoded(body.decode("cp1252", "replace"), "cp1252", "default")


def _lenient(body: bytes, label: str | None, source: str) -> Decoded | None:
    """The declared codec with replacement characters, if they stay rare (≤ 1 % of the
    text, not counting U+FFFD that the bytes themselves carry)."""
    codec = codec_for_label(label)
    if codec is None:
        return None
    try:
        text = body.decode(codec, "replace")
    except (UnicodeError, LookupError):
        return None
    bad = text.count("\ufffd") - body.count("\ufffd".encode())
    return Decoded(text, codec, source) if bad * 100 <= len(text) else None


def decode_html(body: bytes, content_type: str | None) -> Decoded:
    """Decode an HTML body (bytes as received, after Content-Encoding) to text.

    ``content_type`` is the HTTP header value (may be None). The BOM is stripped.
    Raises ``DecodeError`` when the bytes look binary (NUL bytes in the first 1 KiB
    without a UTF-16 BOM).
    """
    return _decode(body, [(charset_from_content_type(content_type), "http"), (meta_charset(body), "meta")])


def decode_xml(body: bytes, content_type: str | None) -> Decoded:
    """Decode a feed or sitemap: BOM, HTTP charset, XML declaration (XML 1.0 §4.3.3),
    then the HTML rules. A ``text/xml`` response without charset does not force
    us-ascii (RFC 7303 §8.5 lets the XML declaration decide). Raises ``DecodeError``."""
    match = _XML_DECL.search(body[:512])
    xml_label = match.group(1).decode("ascii") if match else None
    return _decode(body, [(charset_from_content_type(content_type), "http"), (xml_label, "xml"),
                          (meta_charset(body), "meta")])


def _decode(body: bytes, labels: list[tuple[str | None, str]]) -> Decoded:
    bom = _bom(body)
    if bom is not None:
        return bom
    if b"\x00" in body[:1024]:
        raise DecodeError("NUL bytes in the first KiB: not a text document")
    for label, source in labels:
        decoded = _labelled(body, label, source)
        if decoded is not None:
            return decoded
    for label, source in labels:  # a few damaged bytes in the declared charset beat a guess
        decoded = _lenient(body, label, source)
        if decoded is not None:
            return decoded
    return _detect(body)


def sniff_binary(body: bytes) -> str | None:
    """Short name (``pdf``, ``png``, ``gzip``, ``zip``, ...) of the binary format the
    body starts with, from its magic bytes (WHATWG MIME Sniffing §7), else None."""
    name = _name_binary(body[:64])
    if name is None:
        return None
    words = name.lower().split()
    if words[0] == "riff":  # "RIFF WEBP media": the container says little, the form type says what
        return words[1]
    return {"mp4/iso": "mp4", "ole": "ole2"}.get(words[0], words[0])
