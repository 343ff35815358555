"""Where a request comes from: the peer's address, or, when the peer is a trusted proxy (ORCHJOBS_TRUSTED_PROXIES),
the address that proxy forwarded in X-Forwarded-For. Anyone else's X-Forwarded-For is ignored: believing it would
let a client pick a fresh address for every request (the login throttle counts by address)."""

import ipaddress
from functools import lru_cache

from starlette.requests import Request

_LONGEST = 64


def client_address(request: Request, *, trusted_proxies: str) -> str:
    """The client's address. Proxies append the address they received from to X-Forwarded-For, so the list is read
    from its right end, past the trusted proxies, to the first address none of them is: the one the outermost
    trusted proxy saw. Whatever lies further left the client wrote itself."""
    address = request.client.host if request.client is not None else ""
    if not trusted_proxies or not is_trusted_proxy(address, trusted_proxies):
        return address
    hops = [hop.strip() for value in request.headers.getlist("x-forwarded-for") for hop in value.split(",")]
    for hop in reversed(hops):
        if not hop:
            continue
        address = hop[:_LONGEST]
        if not is_trusted_proxy(address, trusted_proxies):
            break
    return address


def is_trusted_proxy(host: str, trusted_proxies: str) -> bool:
    """Whether `host` is listed in `trusted_proxies`: comma-separated addresses, networks, or exact names."""
    names, networks = _parse(trusted_proxies)
    if host in names:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in networks)


@lru_cache(maxsize=8)
def _parse(trusted_proxies: str) -> tuple[frozenset[str], tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]]:
    names = frozenset(item.strip() for item in trusted_proxies.split(",") if item.strip())
    networks = []
    for name in names:
        try:
            networks.append(ipaddress.ip_network(name, strict=False))
        except ValueError:
            continue  # a host name (tests use "testclient"); matched exactly
    return names, tuple(networks)
