"""Who may see the operator's page: whoever presents ``C2D_OPERATOR_TOKEN``.

A browser signs in once with a form; its cookie holds a value derived from the token (an HMAC),
not the token itself. Tools send the token as ``Authorization: Bearer``.
"""

from __future__ import annotations

import hashlib
import hmac

from provider.errors import Forbidden, NotFound, Unauthorized

__all__ = ["COOKIE", "OperatorGate"]

COOKIE = "c2d_operator"
_SESSION_LABEL = b"c2d operator page session"


class OperatorGate:
    def __init__(self, token: str | None) -> None:
        self._token = token.encode() if token else None

    @property
    def enabled(self) -> bool:
        return self._token is not None

    def check(self, *, bearer: str | None, cookie: str | None) -> None:
        """Pass, or raise: 404 when the page is off, 401 with no token, 403 with a wrong one."""
        token = self._enabled_token()
        if bearer:
            presented, expected = bearer.encode(), token
        elif cookie:
            presented, expected = cookie.encode(), self._session(token).encode()
        else:
            raise Unauthorized("the operator's page needs the operator token (C2D_OPERATOR_TOKEN)")
        if not hmac.compare_digest(presented, expected):
            raise Forbidden("wrong operator token")

    def sign_in(self, presented: str) -> str:
        """The session cookie's value for the right token; 401 for none, 403 for a wrong one."""
        token = self._enabled_token()
        if not presented:
            raise Unauthorized("enter the operator token (C2D_OPERATOR_TOKEN)")
        if not hmac.compare_digest(presented.strip().encode(), token):
            raise Forbidden("wrong operator token")
        return self._session(token)

    def _enabled_token(self) -> bytes:
        if self._token is None:
            raise NotFound(
                "the operator's page is off: set C2D_OPERATOR_TOKEN (at least 16 characters)"
                " and restart c2d serve (docs/ui.md)"
            )
        return self._token

    @staticmethod
    def _session(token: bytes) -> str:
        return hmac.new(token, _SESSION_LABEL, hashlib.sha256).hexdigest()
