"""Safe XML for feeds and sitemaps: no entity expansion, no external entities.

A feed is untrusted input. A DOCTYPE that declares entities can expand a few
hundred bytes into gigabytes ("billion laughs") or pull a local file or an
internal URL into the document (XXE). ``check_safe_xml`` refuses any document
whose DTD declares an entity, before feedparser or lxml sees it; callers record
such a file as ``Outcome.BAD_FEED``. ``parse_xml_safely`` is the one way to build
an lxml tree from such bytes.
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser
from lxml import etree


class UnsafeXMLError(DefusedXmlException):
    """The document declares entities (or an external entity): refused unparsed."""


class _RootReached(Exception):
    """Raised at the first element: everything that can declare entities is behind us."""


class _StopAtRoot:
    def start(self, tag, attrs):  # noqa: ARG002 - ElementTree target protocol
        raise _RootReached


# Fallback scan when expat cannot read the prolog (e.g. encoding="gb2312", which
# expat does not know): an entity declaration in any encoding that keeps ASCII
# bytes, or in UTF-16 once the NUL bytes are removed.
_ENTITY_DECL = re.compile(rb"<!\s*ENTITY", re.IGNORECASE)


def check_safe_xml(body: bytes) -> None:
    """Raise ``UnsafeXMLError`` if ``body`` (an XML document as bytes) declares an
    entity in its DTD or refers to an external entity; return None otherwise.

    Only the prolog is parsed (parsing stops at the root element), so the cost is
    small whatever the document size. Malformed XML is not this check's concern:
    it returns None and lets the feed parser report the error. Rule source:
    OWASP XXE Prevention Cheat Sheet; defusedxml's ``forbid_entities``/``forbid_external``.
    """
    parser = DefusedXMLParser(target=_StopAtRoot(), forbid_dtd=False, forbid_entities=True,
                              forbid_external=True)
    try:
        parser.feed(body)
        parser.close()
    except _RootReached:
        return
    except DefusedXmlException as exc:
        raise UnsafeXMLError(f"unsafe XML: {exc}") from exc
    except (ParseError, ValueError, LookupError):
        head = body[:1_000_000]
        if _ENTITY_DECL.search(head) or _ENTITY_DECL.search(head.replace(b"\x00", b"")):
            raise UnsafeXMLError("unsafe XML: DOCTYPE declares an entity") from None


def _parser() -> etree.XMLParser:
    # resolve_entities=False: never expand; no_network: never fetch a DTD or entity;
    # huge_tree=False keeps libxml2's depth (256) and text-size limits on.
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                           load_dtd=False, dtd_validation=False)


def parse_xml_safely(body: bytes) -> etree._Element:
    """Parse XML bytes into an lxml root element with entity expansion and network off.

    Raises ``UnsafeXMLError`` (entity declarations, see ``check_safe_xml``) or
    ``lxml.etree.XMLSyntaxError`` (malformed, or nested deeper than libxml2's limit).
    """
    check_safe_xml(body)
    return etree.fromstring(body, parser=_parser())


def iter_xml_safely(body: bytes, chunk: int = 64 * 1024):
    """Parse XML bytes incrementally, yielding each element when its end tag is read,
    under the same rules as ``parse_xml_safely``. The caller may stop early (only what
    was fed so far was parsed) and should ``clear()`` elements it is done with, so a
    large sitemap never becomes a whole tree in memory.

    Raises ``UnsafeXMLError`` or ``lxml.etree.XMLSyntaxError`` (while iterating).
    """
    check_safe_xml(body)
    parser = etree.XMLPullParser(events=("end",), resolve_entities=False, no_network=True,
                                 huge_tree=False, load_dtd=False, dtd_validation=False)
    view = memoryview(body)
    for start in range(0, len(body), chunk):
        parser.feed(bytes(view[start:start + chunk]))
        for _, element in parser.read_events():
            yield element
    parser.close()
    for _, element in parser.read_events():
        yield element
