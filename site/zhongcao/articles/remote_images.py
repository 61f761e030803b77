"""Fetch an author's remote image once, at save time, and keep our own copy.

Only http(s), only public addresses (no loopback, private, link-local, carrier-grade NAT or
addresses tunnelled inside IPv6), with a timeout, an overall deadline and a size cap. The
connection goes to the address we checked, so a second DNS answer cannot point us inward.
Redirects are followed by hand, each target checked again.
"""
from __future__ import annotations

import http.client
import io
import ipaddress
import socket
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from sqlmodel import Session

from zhongcao.errors import DomainError
from zhongcao.media.services import MAX_BYTES, media_url, store_upload

TIMEOUT_SECONDS = 5.0
DEADLINE_SECONDS = 15.0
MAX_REDIRECTS = 3
_REDIRECTS = {301, 302, 303, 307, 308}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
Resolver = Callable[..., list]


class RemoteImageRefused(Exception):
    """The URL, its address or its response is not one we fetch."""


def is_public_address(address: str) -> bool:
    """True only for a globally routable unicast address; IPv4 inside IPv6 is judged as IPv4."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        elif ip.sixtofour is not None or ip.teredo is not None or ip in _NAT64:
            return False  # these embed an IPv4 address that may be internal
    return ip.is_global and not ip.is_multicast


def checked_address(url: str, resolve: Resolver = socket.getaddrinfo) -> tuple[str, int, str]:
    """(host, port, address) for an http(s) URL whose host resolves only to public addresses.

    Raises RemoteImageRefused for any other scheme, a missing host, a failed lookup, or any
    non-public address among the answers.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RemoteImageRefused("only http and https URLs with a host")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        answers = resolve(parts.hostname, port, 0, socket.SOCK_STREAM)
    except (ValueError, OSError, UnicodeError) as error:
        raise RemoteImageRefused(f"cannot resolve {parts.hostname}") from error
    addresses = sorted({answer[4][0] for answer in answers})
    if not addresses or not all(is_public_address(address) for address in addresses):
        raise RemoteImageRefused(f"{parts.hostname} is not a public address")
    return parts.hostname, port, addresses[0]


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        raw = socket.create_connection((self._address, self.port), self.timeout)
        # The certificate is checked against the host name, while the socket goes to the checked address.
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)


def fetch_image_bytes(url: str, *, resolve: Resolver = socket.getaddrinfo, max_bytes: int = MAX_BYTES) -> bytes:
    """The body of an http(s) image URL on a public host, at most `max_bytes`; raises RemoteImageRefused."""
    deadline = time.monotonic() + DEADLINE_SECONDS
    for _ in range(MAX_REDIRECTS + 1):
        host, port, address = checked_address(url, resolve)
        parts = urlsplit(url)
        connection_class = _PinnedHTTPSConnection if parts.scheme == "https" else _PinnedHTTPConnection
        connection = connection_class(host, port, address, TIMEOUT_SECONDS)
        try:
            path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            connection.request("GET", path, headers={"User-Agent": "Zhongcao-image-fetcher/1", "Accept": "image/*"})
            response = connection.getresponse()
            if response.status in _REDIRECTS and response.getheader("Location"):
                url = urljoin(url, response.getheader("Location"))
                continue
            if response.status != 200:
                raise RemoteImageRefused(f"HTTP {response.status}")
            declared = response.getheader("Content-Length") or ""
            if declared.isdigit() and int(declared) > max_bytes:
                raise RemoteImageRefused("too large")
            return _read_capped(response, max_bytes, deadline)
        except (OSError, http.client.HTTPException) as error:
            raise RemoteImageRefused(str(error)) from error
        finally:
            connection.close()
    raise RemoteImageRefused("too many redirects")


def _read_capped(response: http.client.HTTPResponse, max_bytes: int, deadline: float) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while chunk := response.read(64 * 1024):
        size += len(chunk)
        if size > max_bytes:
            raise RemoteImageRefused("too large")
        if time.monotonic() > deadline:
            raise RemoteImageRefused("too slow")
        chunks.append(chunk)
    return b"".join(chunks)


class RemoteImageFetcher:
    """The `fetch_image` callable for article rendering: store a remote image, return its /media/ URL or None."""

    def __init__(self, session: Session, *, data_dir: str | Path, owner_id: int | None,
                 resolve: Resolver = socket.getaddrinfo) -> None:
        self.session = session
        self.data_dir = data_dir
        self.owner_id = owner_id
        self.resolve = resolve
        self._done: dict[str, str | None] = {}

    def __call__(self, url: str) -> str | None:
        if url not in self._done:
            self._done[url] = self._fetch(url)
        return self._done[url]

    def _fetch(self, url: str) -> str | None:
        try:
            data = fetch_image_bytes(url, resolve=self.resolve)
            upload = store_upload(self.session, io.BytesIO(data), data_dir=self.data_dir, owner_id=self.owner_id,
                                  purpose="article", source_url=url[:2000])
        except (RemoteImageRefused, DomainError):
            return None
        return media_url(upload)
