"""A small TLS server on 127.0.0.1 speaking HTTP/2 (ALPN ``h2``, with the ``h2`` library)
and HTTP/1.1, for the HTTP/2 fallback tests. Paths in ``reset`` get their HTTP/2 stream
reset (RST_STREAM) instead of an answer; every other path answers 200 with a small page
(``/robots.txt``: 404). Every request is logged as ``(protocol, path)``.

The certificate is made on the fly for 127.0.0.1 (``cryptography``), self-signed; its
PEM file (``ca_file``) is what the client trusts.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
import threading
from pathlib import Path

import h2.config
import h2.connection
import h2.events
from h2.errors import ErrorCodes

PAGE = (b"<html><head><title>HTTP/2 test page</title></head><body><article><p>"
        + b"The Greater Bay Area hub opens a new laboratory. " * 10 + b"</p></article></body></html>")


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate and key for 127.0.0.1, as PEM files in ``folder``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hubwatch test")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


class H2Server:
    """``with H2Server(tmp_path, reset={"/reset.html"}) as srv: srv.url("/x")``."""

    def __init__(self, folder: Path, *, reset: set[str] = frozenset()) -> None:
        self.ca_file, key_file = make_certificate(folder)
        self.reset = set(reset)
        self.log: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._ctx.load_cert_chain(self.ca_file, key_file)
        self._ctx.set_alpn_protocols(["h2", "http/1.1"])
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._stop = False

    @property
    def port(self) -> int:
        return self._sock.getsockname()[1]

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}{path}"

    def __enter__(self) -> H2Server:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop = True
        self._sock.close()

    def _accept(self) -> None:
        while not self._stop:
            try:
                raw, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(raw,), daemon=True).start()

    def _serve(self, raw: socket.socket) -> None:
        try:
            conn = self._ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            return
        try:
            if conn.selected_alpn_protocol() == "h2":
                self._h2(conn)
            else:
                self._h1(conn)
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()

    def _record(self, protocol: str, path: str) -> None:
        with self._lock:
            self.log.append((protocol, path))

    def _answer(self, path: str) -> tuple[int, bytes]:
        return (404, b"") if path == "/robots.txt" else (200, PAGE)

    def _h2(self, conn: ssl.SSLSocket) -> None:
        h2c = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        h2c.initiate_connection()
        conn.sendall(h2c.data_to_send())
        while True:
            data = conn.recv(65535)
            if not data:
                return
            for event in h2c.receive_data(data):
                if isinstance(event, h2.events.RequestReceived):
                    headers = {k.decode() if isinstance(k, bytes) else k:
                               v.decode() if isinstance(v, bytes) else v for k, v in event.headers}
                    path = headers.get(":path", "/")
                    self._record("h2", path)
                    if path in self.reset:
                        h2c.reset_stream(event.stream_id, error_code=ErrorCodes.INTERNAL_ERROR)
                    else:
                        status, body = self._answer(path)
                        h2c.send_headers(event.stream_id, [(":status", str(status)),
                                                           ("content-type", "text/html; charset=utf-8"),
                                                           ("content-length", str(len(body)))])
                        h2c.send_data(event.stream_id, body, end_stream=True)
            conn.sendall(h2c.data_to_send())

    def _h1(self, conn: ssl.SSLSocket) -> None:
        buf = b""
        while True:
            while b"\r\n\r\n" not in buf:
                chunk = conn.recv(65535)
                if not chunk:
                    return
                buf += chunk
            head, buf = buf.split(b"\r\n\r\n", 1)
            path = head.split(b" ")[1].decode()
            self._record("http/1.1", path)
            status, body = self._answer(path)
            conn.sendall(f"HTTP/1.1 {status} X\r\nContent-Type: text/html; charset=utf-8\r\n"
                         f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
