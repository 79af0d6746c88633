"""Cookies within one attempt at a redirect chain: consent and session dances.

Some sites answer a first request with a redirect that sets a cookie, and serve the page
only when it comes back. The session keeps no cookies (`DummyCookieJar`): each attempt
starts without any and keeps those it is given, per host, until it ends, so no page
ever sees another's cookies.
"""

from __future__ import annotations

from collections.abc import Iterable
from http.cookies import CookieError, SimpleCookie

__all__ = ["ChainCookies"]


class ChainCookies:
    """The cookies set during one redirect chain, per host."""

    __slots__ = ("_hosts",)

    def __init__(self) -> None:
        self._hosts: dict[str, dict[str, str]] = {}  # host → name → value

    def keep(self, host: str, set_cookie: Iterable[str]) -> None:
        """Remember the `Set-Cookie` header values of a response from `host`."""
        for value in set_cookie:
            try:
                parsed = SimpleCookie(value)
            except CookieError:
                continue
            jar = self._hosts.setdefault(host, {})
            for name, morsel in parsed.items():
                jar[name] = morsel.value

    def header(self, host: str) -> str:
        """The `Cookie` header for a request to `host` ("" when there is none)."""
        return "; ".join(f"{k}={v}" for k, v in sorted(self._hosts.get(host, {}).items()))
