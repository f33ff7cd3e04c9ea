"""The SSRF guard: webhook URLs may not reach the server's own network.

An endpoint's URL is ``http`` or ``https`` with a host. Unless ``FUBBLE_WEBHOOK_ALLOW_PRIVATE_URLS`` is on, a host
that is (or resolves to) an address that is not globally routable is refused: private, loopback, link-local,
multicast, reserved, unspecified, shared (100.64/10), and IPv4-mapped IPv6 forms of those; so are ``localhost`` and
``*.localhost``. The check runs when the endpoint is saved (a name that does not resolve then is accepted: DNS may
answer later) and again at every attempt, on the very addresses the attempt connects to (:class:`GuardedBackend`),
so a name that changes its answer (DNS rebinding) cannot slip through between the check and the connection.
Redirects are never followed, and no proxy from the environment is used.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from urllib.parse import urlsplit

import httpcore
import httpx
from httpcore._backends.base import SOCKET_OPTION

from fubble.errors import InvalidInput

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
SCHEMES = ("http", "https")
RESOLVE_TIMEOUT_S = 3.0
_resolver = ThreadPoolExecutor(max_workers=4, thread_name_prefix="fubble-webhook-dns")


def forbidden(address: IPAddress) -> bool:
    """Whether an attempt may not connect to ``address``."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        not address.is_global
        or address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def check_url(url: str, *, allow_private: bool, loc: tuple[str | int, ...] = ("body", "url")) -> str:
    """``url`` if an endpoint may have it, else :class:`InvalidInput` at ``loc`` saying why."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput.at(loc, f"is not a valid URL ({exc})") from None
    if parts.scheme.lower() not in SCHEMES:
        raise InvalidInput.at(loc, "must be an http or https URL")
    host = parts.hostname
    if not host:
        raise InvalidInput.at(loc, "must name a host")
    if any(ch.isspace() or not "!" <= ch <= "~" for ch in url):
        raise InvalidInput.at(
            loc, "must be printable ASCII without spaces (punycode an internationalized host, percent-encode the rest)"
        )
    if port == 0:
        raise InvalidInput.at(loc, "port 0 cannot be connected to")
    if not allow_private:
        problem = private_problem(host, port or (443 if parts.scheme.lower() == "https" else 80))
        if problem is not None:
            raise InvalidInput.at(
                loc, f"{problem}; such URLs are refused unless FUBBLE_WEBHOOK_ALLOW_PRIVATE_URLS=true"
            )
    return url


def private_problem(host: str, port: int) -> str | None:
    """Why ``host`` is not a public host, or ``None`` (also for a name that does not resolve now)."""
    literal = _literal(host)
    if literal is not None:
        return f"{host} is not a public address" if forbidden(literal) else None
    name = host.rstrip(".").lower()
    if name == "localhost" or name.endswith(".localhost"):
        return f"{host} is the local host"
    try:
        addresses = _resolver.submit(resolve, name, port).result(timeout=RESOLVE_TIMEOUT_S)
    except (OSError, UnicodeError, FutureTimeout):
        return None  # not resolvable now: every attempt checks again
    for address in addresses:
        if forbidden(address):
            return f"{host} resolves to {address}, which is not a public address"
    return None


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to, in the resolver's order (without duplicates)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    found: dict[IPAddress, None] = {}
    for _family, _type, _proto, _name, sockaddr in infos:
        found[ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])] = None
    return list(found)


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


class GuardedBackend(httpcore.SyncBackend):
    """Connects only to public addresses: resolves the host itself, refuses it if any address is not public, and
    connects to the addresses it checked."""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = resolve(host, port)
        except (OSError, UnicodeError) as exc:
            raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
        for address in addresses:
            if forbidden(address):
                raise httpcore.ConnectError(
                    f"refused: {host} resolves to {address}, which is not a public address "
                    "(FUBBLE_WEBHOOK_ALLOW_PRIVATE_URLS is off)"
                )
        failure: httpcore.ConnectError | None = None
        for address in addresses:
            try:
                return super().connect_tcp(str(address), port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:
                failure = exc
        raise failure or httpcore.ConnectError(f"{host} resolves to no address")


def client(*, allow_private: bool, timeout: float, connections: int) -> httpx.Client:
    """The HTTP client of the delivery worker: no redirects, no proxies from the environment, at most
    ``connections`` at once, and unless ``allow_private``, connections only to public addresses."""
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    transport = httpx.HTTPTransport(trust_env=False, limits=limits)
    if not allow_private:
        # httpx offers no option for the network backend: the transport gets the pool it would build itself (TLS
        # context, limits) with the guarded backend. ``_pool`` is what HTTPTransport sends through.
        transport._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(),
        )
    return httpx.Client(transport=transport, timeout=timeout, follow_redirects=False, trust_env=False)
