"""Where a webhook may point: ``https`` on a public address. Checked when an endpoint is saved
(the URL's form, and an address written in it) and again before every delivery (every address
the host name resolves to), so a name later pointed at an internal address is refused.

``LOYALTY_WEBHOOKS_ALLOW_LOOPBACK`` (default: ``DEBUG``) also allows ``http`` and loopback
addresses, so a receiver on 127.0.0.1 can be tested; private and link-local addresses never.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

from ..errors import InvalidRequest

MAX_URL_LENGTH = 500


class AddressNotAllowed(Exception):
    """The endpoint's host is, or resolves to, an address webhooks may not reach."""


def loopback_allowed() -> bool:
    return bool(getattr(settings, "LOYALTY_WEBHOOKS_ALLOW_LOOPBACK", settings.DEBUG))


def _address_refused(address: str) -> str | None:
    """Why ``address`` may not receive webhooks, or None when it may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return None if loopback_allowed() else "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_private or ip.is_reserved or ip.is_multicast or ip.is_unspecified or not ip.is_global:
        return "a private or reserved address"
    return None


def endpoint_url_check(url: object) -> str:
    """The URL, if an endpoint may have it; else ``InvalidRequest`` on the ``url`` field."""

    def refuse(message: str) -> InvalidRequest:
        return InvalidRequest(message, fields={"url": [message]})

    if not isinstance(url, str) or not url.strip() or len(url) > MAX_URL_LENGTH:
        raise refuse(f"A URL of at most {MAX_URL_LENGTH} characters is required.")
    url = url.strip()
    if any(ord(char) < 33 for char in url):
        raise refuse("A URL has no spaces or control characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise refuse("Not a valid URL.") from None
    allowed_schemes = ("https", "http") if loopback_allowed() else ("https",)
    if parts.scheme not in allowed_schemes:
        raise refuse("The URL must use https.")
    if not parts.hostname or parts.username or parts.password:
        raise refuse("The URL needs a host name and no user name or password.")
    if port == 0:
        raise refuse("Not a valid port.")
    host = parts.hostname
    if host == "localhost" or host.endswith(".localhost"):
        host = "127.0.0.1"
    try:
        reason = _address_refused(host)
    except ValueError:
        reason = None  # a host name: resolved before each delivery
    if reason:
        raise refuse(f"The URL points at {reason}.")
    return url


def delivery_address_check(url: str) -> None:
    """Resolve the URL's host and refuse (``AddressNotAllowed``) unless every address it has
    may receive webhooks."""
    parts = urlsplit(url)
    if parts.scheme not in (("https", "http") if loopback_allowed() else ("https",)):
        raise AddressNotAllowed("the URL must use https")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, ValueError) as error:
        raise AddressNotAllowed(f"the host name does not resolve: {error}") from None
    for info in infos:
        reason = _address_refused(info[4][0])
        if reason:
            raise AddressNotAllowed(f"{parts.hostname} resolves to {reason}")
