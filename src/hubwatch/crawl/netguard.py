"""Socket-level guards under httpx: a total deadline per request and no pivoting inside.

httpx's timeouts apply to each socket operation, so a server that drips one byte a
second (in the headers as well as the body) never trips them. The network backend
here reads a per-thread deadline before every socket operation and shrinks the
timeout to what is left. It also resolves host names itself and refuses to connect
to loopback, private, link-local or reserved addresses unless the page being
fetched was on such an address to begin with; checking at connect time, on the
address actually used, also defeats DNS rebinding between a check and the request.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager

import httpcore
import httpx


class BlockedAddressError(httpcore.ConnectError):
    """Connection refused by policy: the host resolves to an internal address."""


class UnresolvedHostError(httpcore.ConnectError):
    """The host name did not resolve (no such name, no DNS server reachable)."""


_state = threading.local()


@contextmanager
def guarded(deadline: float | None, allow_internal: bool) -> Iterator[None]:
    """Apply a deadline (``time.monotonic()`` seconds) and address policy to the
    requests this thread makes inside the block."""
    old = getattr(_state, "deadline", None), getattr(_state, "allow_internal", True)
    _state.deadline, _state.allow_internal = deadline, allow_internal
    try:
        yield
    finally:
        _state.deadline, _state.allow_internal = old


#: IPv6 prefixes whose addresses carry an IPv4 address in their low 32 bits: NAT64
#: well-known and local-use prefixes (RFC 6052 §2.1, RFC 8215) and IPv4-compatible
#: addresses (RFC 4291 §2.5.5.1, deprecated but still routed by some stacks).
_EMBED_LOW32 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"),
                ipaddress.IPv6Network("::/96"))


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for, if it embeds one: IPv4-mapped
    (``::ffff:a.b.c.d``), 6to4 (``2002:AABB:CCDD::/16``, RFC 3056), NAT64
    (``64:ff9b::a.b.c.d``) or IPv4-compatible (``::a.b.c.d``). ``::`` and ``::1`` are
    themselves (unspecified, loopback), not IPv4 addresses."""
    if ip.ipv4_mapped:
        return ip.ipv4_mapped
    if ip.sixtofour:
        return ip.sixtofour
    if int(ip) <= 1:
        return None
    if any(ip in net for net in _EMBED_LOW32):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def is_internal(address: str) -> bool:
    """True for loopback, private (RFC 1918, RFC 4193), link-local, CGNAT, multicast,
    reserved or unspecified IPv4/IPv6 addresses. An IPv6 address embedding an IPv4
    address (mapped, 6to4, NAT64, IPv4-compatible; see ``embedded_ipv4``) is judged by
    that IPv4 address, because a translator or tunnel on the path delivers it there."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address):
        inner = embedded_ipv4(ip)
        if inner is not None:
            return _internal_ip(inner)
    return _internal_ip(ip)


def _internal_ip(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    return not ip.is_global or ip.is_multicast


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (IP literals are returned as they are)."""
    host = host.strip("[]")
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(info[4][0] for info in infos))


def _remaining(timeout: float | None) -> float | None:
    deadline = getattr(_state, "deadline", None)
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("total deadline for the page exceeded")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _remaining(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _remaining(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, _remaining(timeout)))

    def get_extra_info(self, info: str):
        return self._inner.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's sync backend with the deadline and the internal-address rule."""

    def __init__(self) -> None:
        self._inner = httpcore.SyncBackend()
        self._open: weakref.WeakSet[_DeadlineStream] = weakref.WeakSet()
        self._open_lock = threading.Lock()

    def abort_all(self) -> int:
        """Shut down every connection opened through this backend (blocked reads return
        at once, with an error); return how many. Used when a run is cancelled."""
        with self._open_lock:
            streams = list(self._open)
        for stream in streams:
            sock = stream.get_extra_info("socket")
            try:
                if sock is not None:
                    sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already closed
        return len(streams)

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        try:
            addresses = resolve(host, port)
        except OSError as exc:
            raise UnresolvedHostError(f"cannot resolve {host}: {exc}") from exc
        if not getattr(_state, "allow_internal", True):
            internal = [a for a in addresses if is_internal(a)]
            if internal:
                raise BlockedAddressError(f"{host} resolves to internal address {internal[0]}")
        last: Exception | None = None
        for address in addresses:  # connect to the address checked, not a new lookup
            try:
                stream = _DeadlineStream(self._inner.connect_tcp(address, port, _remaining(timeout),
                                                                 local_address, socket_options))
                with self._open_lock:
                    self._open.add(stream)
                return stream
            except httpcore.ConnectError as exc:
                last = exc
        raise last or httpcore.ConnectError(f"no address for {host}")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """``httpx.HTTPTransport`` whose connection pool uses ``GuardedBackend``.

    httpx does not take a network backend as a parameter, so the pool is rebuilt
    with the same options; ``tests/test_fetch.py`` proves the guard is in place.
    """

    def __init__(self, *, limits: httpx.Limits, http2: bool = False,
                 ca_file: str | None = None) -> None:
        super().__init__(limits=limits, http2=http2, trust_env=False)
        ssl_context = httpx.create_ssl_context()
        if ca_file:  # trusted besides the public roots (a test CA, a company's own)
            ssl_context.load_verify_locations(cafile=ca_file)
        self.backend = GuardedBackend()
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            http1=True, http2=http2, network_backend=self.backend,
        )


def blocked_cause(exc: BaseException) -> BlockedAddressError | None:
    """The ``BlockedAddressError`` behind an httpx exception, if that was its cause."""
    return _cause(exc, BlockedAddressError)


def unresolved_cause(exc: BaseException) -> UnresolvedHostError | None:
    """The ``UnresolvedHostError`` behind an httpx exception, if that was its cause."""
    return _cause(exc, UnresolvedHostError)


def _cause(exc: BaseException, kind: type) -> BaseException | None:
    seen = 0
    cur: BaseException | None = exc
    while cur is not None and seen < 10:
        if isinstance(cur, kind):
            return cur
        cur, seen = cur.__cause__ or cur.__context__, seen + 1
    return None
