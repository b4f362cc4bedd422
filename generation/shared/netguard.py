"""Outbound URLs users give us (webhooks): only to public addresses, and connect to the address checked.

A hostname is resolved once, every address it resolves to is checked, and the connection then goes
to that checked address (requests is pointed at the IP, with Host header, TLS SNI and certificate
check for the name): a DNS answer that changes between check and connect (rebinding) cannot steer it
to a private network. Numeric forms the resolver accepts (2130706433, 0x7f.1, 017700000001) are
caught because the check is on what the resolver returned, not on how the URL spells the host.
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

ALLOWED_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeURL(ValueError):
    """The URL is not http(s), has no host, cannot be resolved, or reaches a non-public address."""

    def __init__(self, message: str, code: str):
        super().__init__(message)
        self.code = code  # refused | unresolvable | scheme | malformed


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (ip) and what to call the host (name)."""

    url: str
    scheme: str
    host: str
    port: int
    ip: str


def is_public(address: str) -> bool:
    """True for a globally routable unicast address; IPv4-mapped IPv6 is judged as the IPv4 inside."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    elif isinstance(ip, ipaddress.IPv6Address) and ip in NAT64:  # 64:ff9b::7f00:1 is 127.0.0.1 behind a NAT64
        ip = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.is_loopback or ip.is_link_local or ip.is_private or ip.is_multicast or ip.is_reserved \
            or ip.is_unspecified:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and (ip.sixtofour is not None or ip.teredo is not None):
        return False  # tunnels that embed an IPv4 address we would have to judge too
    return ip.is_global


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (IPv4 and IPv6), in the resolver's order."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError):
        raise UnsafeURL("The host could not be resolved.", "unresolvable") from None
    return list(dict.fromkeys(info[4][0] for info in infos))


def check_url(url: str, allow_private: bool = False) -> Target:
    """Resolve and check `url`; raises UnsafeURL. With allow_private any resolvable address is accepted."""
    try:
        parts = urlsplit(url)
        port = parts.port if parts.port is not None else DEFAULT_PORTS.get(parts.scheme.lower(), 0)
    except ValueError:
        raise UnsafeURL("The URL is malformed.", "malformed") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise UnsafeURL("Only http and https URLs are allowed.", "scheme")
    host = parts.hostname
    if not host or not port or parts.username is not None or parts.password is not None:
        raise UnsafeURL("The URL needs a host and no credentials.", "malformed")
    addresses = resolve(host, port)
    if not addresses:
        raise UnsafeURL("The host could not be resolved.", "unresolvable")
    if not allow_private and not all(is_public(a) for a in addresses):
        raise UnsafeURL("The URL leads to a private, loopback or otherwise non-public address.", "refused")
    return Target(url=url, scheme=scheme, host=host, port=port, ip=addresses[0])


class PinnedAdapter(HTTPAdapter):
    """Sends to the checked IP while TLS still names (SNI) and verifies the certificate of the host."""

    def __init__(self, target: Target, **kwargs):
        self.target = target
        super().__init__(max_retries=0, **kwargs)

    def init_poolmanager(self, *args, **kwargs):
        if self.target.scheme == "https":
            kwargs["server_hostname"] = self.target.host
            kwargs["assert_hostname"] = self.target.host
        super().init_poolmanager(*args, **kwargs)


def pinned_url(target: Target) -> str:
    """`target.url` with its host replaced by the checked IP (bracketed for IPv6)."""
    parts = urlsplit(target.url)
    ip = f"[{target.ip}]" if ":" in target.ip else target.ip
    return urlunsplit((parts.scheme, f"{ip}:{target.port}", parts.path or "/", parts.query, ""))


def host_header(target: Target) -> str:
    """The Host header the receiver expects: the name, with the port when it is not the default."""
    name = f"[{target.host}]" if ":" in target.host else target.host
    return name if DEFAULT_PORTS[target.scheme] == target.port else f"{name}:{target.port}"


def post_pinned(target: Target, body: bytes, headers: dict, connect_timeout: float, read_timeout: float,
                verify: bool | str = True) -> int:
    """POST `body` to the checked address of `target`; the status code. No redirects, no environment proxies.

    The response body is never read: a receiver cannot make us download anything. `verify`: as in
    requests (True: the system's CA bundle; a path: that bundle).
    """
    with requests.Session() as session:
        session.trust_env = False  # an environment proxy would connect to the name, not the checked IP
        session.mount(f"{target.scheme}://", PinnedAdapter(target))
        response = session.post(pinned_url(target), data=body, headers={**headers, "Host": host_header(target)},
                                timeout=(connect_timeout, read_timeout), allow_redirects=False, stream=True,
                                verify=verify)
        response.close()
        return response.status_code
