"""Bounded content decoding and magic-byte sniffing for the fetch layer.

httpx's own decoders inflate each network chunk without an output limit, so a
few kilobytes of gzip, brotli or zstd can become gigabytes in memory before the
caller sees a single byte. Here every decoder is a generator that yields at most
``CHUNK`` bytes at a time, pulling compressed input only when it needs more, so
the caller can count decoded bytes and stop at its cap after at most one chunk.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import brotli
import zstandard

#: Largest piece of decoded output produced at once (bytes).
CHUNK = 64 * 1024

#: zstd window limit: RFC 9659 §3 lets HTTP recipients refuse windows over 8 MiB.
ZSTD_MAX_WINDOW = 8 * 1024 * 1024


#: Most codings undone for one body. Servers apply one (rarely gzip over br by a proxy);
#: RFC 9110 §8.4 allows a list, so a few are accepted, more are ``decode_error``.
MAX_CODINGS = 3


class ContentDecodingError(Exception):
    """A Content-Encoding that is unknown or whose stream is corrupt."""


@dataclass
class StreamEnd:
    """Filled in by a decoder when its input runs out: ``complete`` is True when the
    compressed stream reached its end (for gzip: the CRC-32 and length trailer checked by
    zlib), False when it stopped short, None when the coding cannot tell (identity, zstd)."""

    complete: bool | None = None


def _zlib_stream(raw: Iterable[bytes], wbits: int, end: StreamEnd | None = None) -> Iterator[bytes]:
    """Inflate gzip (all members) or zlib data, ``CHUNK`` output bytes at a time."""
    d = zlib.decompressobj(wbits)
    for data in raw:
        while data and not d.eof:
            try:
                out = d.decompress(data, CHUNK)
            except zlib.error as exc:
                raise ContentDecodingError(f"corrupt deflate stream: {exc}") from exc
            if out:
                yield out
            data = d.unconsumed_tail
            # gzip allows several members back to back (RFC 1952 §2.2); other
            # bytes after the end (padding, junk) are ignored as browsers do.
            if d.eof and wbits > zlib.MAX_WBITS and d.unused_data.startswith(b"\x1f\x8b"):
                data, d = d.unused_data, zlib.decompressobj(wbits)
    if end is not None:
        end.complete = d.eof
    if not d.eof:
        tail = d.flush()  # only what is left in zlib's window: all input was consumed
        if tail:
            yield tail


def gunzip(raw: Iterable[bytes], end: StreamEnd | None = None) -> Iterator[bytes]:
    """Decode ``Content-Encoding: gzip`` (RFC 9110 §8.4.1.3); ``end`` says whether the
    stream was complete once the output is exhausted."""
    return _zlib_stream(raw, 16 + zlib.MAX_WBITS, end)


def inflate(raw: Iterable[bytes], end: StreamEnd | None = None) -> Iterator[bytes]:
    """Decode ``Content-Encoding: deflate``: zlib-wrapped per RFC 9110 §8.4.1.2,
    or raw deflate, which many servers send instead."""
    it = iter(raw)
    first = b""
    for first in it:
        if first:
            break
    # A zlib header is two bytes whose big-endian value is a multiple of 31 (RFC 1950).
    wrapped = len(first) >= 2 and (first[0] & 0x0F) == 8 and int.from_bytes(first[:2], "big") % 31 == 0
    return _zlib_stream(_prepend(first, it), zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS, end)


def unbrotli(raw: Iterable[bytes], end: StreamEnd | None = None) -> Iterator[bytes]:
    """Decode ``Content-Encoding: br`` (RFC 7932) with a bounded output buffer."""
    d = brotli.Decompressor()
    try:
        for data in raw:
            for i in range(0, len(data), 4096):
                yield from _brotli_drain(d, data[i:i + 4096])
    except brotli.error as exc:
        raise ContentDecodingError(f"corrupt brotli stream: {exc}") from exc
    if end is not None:
        end.complete = d.is_finished()


def _brotli_drain(d: brotli.Decompressor, data: bytes) -> Iterator[bytes]:
    out = d.process(data, output_buffer_limit=CHUNK)
    # With the output buffer full, brotli keeps the rest back until drained with
    # empty input (brotli >= 1.2 API); drain until it has nothing more to give.
    while out:
        yield out
        if d.is_finished():
            return
        out = d.process(b"", output_buffer_limit=CHUNK)


class _IterReader:
    """A minimal file object over an iterator of byte chunks (for zstandard)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._it, self._buf = iter(chunks), b""

    def read(self, size: int = -1) -> bytes:
        while not self._buf:
            try:
                self._buf = next(self._it)
            except StopIteration:
                return b""
        size = len(self._buf) if size < 0 else size
        out, self._buf = self._buf[:size], self._buf[size:]
        return out


def unzstd(raw: Iterable[bytes], end: StreamEnd | None = None) -> Iterator[bytes]:
    """Decode ``Content-Encoding: zstd`` (RFC 9659), all frames, window ≤ 8 MiB."""
    dctx = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW)
    reader = dctx.stream_reader(_IterReader(raw), read_size=16384, read_across_frames=True)
    try:
        while out := reader.read(CHUNK):
            yield out
    except zstandard.ZstdError as exc:
        raise ContentDecodingError(f"corrupt zstd stream: {exc}") from exc


def _prepend(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    if first:
        yield first
    yield from rest


_DECODERS: dict[str, Callable[..., Iterator[bytes]]] = {
    "gzip": gunzip, "x-gzip": gunzip, "deflate": inflate, "br": unbrotli, "zstd": unzstd,
}

GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
#: What a plain HTML/XML document starts with: optional BOM and white space, then a tag,
#: a comment, a doctype or an XML declaration. No compressed stream plausibly does.
_MARKUP = re.compile(rb"^(?:\xef\xbb\xbf|\xff\xfe|\xfe\xff)?[\s\x00]*<[!?a-zA-Z/\x00]")


def plain_despite_label(coding: str, head: bytes) -> bool:
    """True when a body labelled ``coding`` is evidently not encoded (an error page or a mislabelled one): gzip or
    zstd without their magic bytes, or any coding over bytes that begin as a plain
    HTML/XML document. ``head``: the first raw bytes (16 or more when the body has them)."""
    if coding in ("gzip", "x-gzip") and head.startswith(GZIP_MAGIC):
        return False
    if coding == "zstd" and head.startswith(_ZSTD_MAGIC):
        return False
    return bool(_MARKUP.match(head))


def decode_stream(raw: Iterable[bytes], content_encoding: str | None,
                  end: StreamEnd | None = None, notes: list[str] | None = None) -> Iterator[bytes]:
    """Undo every coding named in a ``Content-Encoding`` header, last applied first.

    Input: raw body chunks and the header value (``None`` or ``identity`` = as is).
    Output: decoded chunks of at most ``CHUNK`` bytes, produced lazily. The bytes have
    the last word (RFC 9110 lets a recipient check): a single coding that the body's
    first bytes contradict (:func:`plain_despite_label`) is not applied, and a line saying
    so is appended to ``notes``. ``end`` reports whether the outermost compressed stream
    was complete (see :class:`StreamEnd`). Raises ``ContentDecodingError`` for an
    unknown coding (when iterated), more than ``MAX_CODINGS`` codings (each one nests a
    generator: a thousand would end in RecursionError), or corrupt data.
    """
    codings = [c.strip().lower() for c in (content_encoding or "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if len(codings) > MAX_CODINGS:
        raise ContentDecodingError(f"{len(codings)} stacked Content-Encodings (at most {MAX_CODINGS} undone)")
    stream: Iterable[bytes] = raw
    if len(codings) == 1 and codings[0] in _DECODERS:
        head, stream = peek(raw, 16)
        if plain_despite_label(codings[0], head):
            if notes is not None:
                notes.append(f"Content-Encoding {codings[0]} ignored: the body is not encoded")
            return iter(stream)
    for i, coding in enumerate(reversed(codings)):
        decoder = _DECODERS.get(coding)
        if decoder is None:
            raise ContentDecodingError(f"unsupported Content-Encoding {coding!r}")
        stream = decoder(stream, end) if i == 0 else decoder(stream)
    return iter(stream)


def peek(chunks: Iterable[bytes], size: int) -> tuple[bytes, Iterator[bytes]]:
    """The first ``size`` bytes of ``chunks`` (fewer if it is shorter), and an iterator
    yielding every byte again, the peeked ones included."""
    it, taken = iter(chunks), []
    have = 0
    for chunk in it:
        taken.append(chunk)
        have += len(chunk)
        if have >= size:
            break
    head = b"".join(taken)

    def again() -> Iterator[bytes]:
        if head:
            yield head
        yield from it

    return head[:size], again()


# Signatures of formats that are never an HTML page or a feed (WHATWG MIME Sniffing §7).
_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"%PDF-", "PDF"), (b"\x89PNG\r\n\x1a\n", "PNG image"), (b"\xff\xd8\xff", "JPEG image"),
    (b"GIF87a", "GIF image"), (b"GIF89a", "GIF image"), (b"PK\x03\x04", "zip archive"),
    (b"\x1f\x8b\x08", "gzip data"), (b"Rar!\x1a\x07", "RAR archive"), (b"7z\xbc\xaf\x27\x1c", "7z archive"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "OLE document (doc/xls)"), (b"BM", "BMP image"),
    (b"\x00\x00\x01\x00", "ICO image"), (b"OggS", "Ogg media"), (b"ID3", "MP3 audio"),
    (b"\x1aE\xdf\xa3", "WebM/Matroska video"), (b"wOFF", "WOFF font"), (b"wOF2", "WOFF2 font"),
    (b"\x28\xb5\x2f\xfd", "zstd data"), (b"BZh", "bzip2 data"), (b"\xfd7zXZ\x00", "xz data"),
)


def sniff_binary(head: bytes) -> str | None:
    """Name the binary format that ``head`` (the first decoded bytes) starts with, else None.

    Catches a PDF, image, archive or doubly compressed body served as text/html.
    """
    for magic, name in _MAGIC:
        if head.startswith(magic):
            return name
    if head[:4] == b"RIFF" and head[8:12] in (b"WEBP", b"WAVE", b"AVI "):
        return f"RIFF {head[8:12].decode().strip()} media"
    if head[4:8] == b"ftyp":
        return "MP4/ISO media"
    return None


_BINARY_TYPES = ("image/", "audio/", "video/", "font/", "application/pdf", "application/zip",
                 "application/x-rar", "application/x-7z", "application/msword",
                 "application/vnd.ms-", "application/vnd.openxmlformats", "application/x-shockwave")


def binary_content_type(content_type: str | None) -> str | None:
    """The media type from ``content_type`` when it can never be a page, else None."""
    media = (content_type or "").split(";")[0].strip().lower()
    return media if media.startswith(_BINARY_TYPES) else None
