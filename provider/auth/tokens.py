"""Auth tokens: HS256 JWTs bound to one address, with revocations kept in the state database."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import jwt

from provider.auth._db import AUTH_MIGRATIONS, AUTH_SCHEMA, MAX_SQLITE_INTEGER
from provider.errors import BadRequest, Forbidden, Unauthorized
from provider.statedb.base import Database, as_database

__all__ = ["TokenService"]

_ALGORITHM = "HS256"
_MIN_SECRET_BYTES = 32
# validUntil above this is taken as milliseconds (JavaScript's Date.now()); in seconds it is
# the year 33658, so no real expiry in seconds is misread.
_MILLISECONDS_THRESHOLD = 10**12
# The revocation of a token without expiry is kept for good.
_NEVER = MAX_SQLITE_INTEGER


@dataclass(frozen=True)
class _Claims:
    address: str
    expires_at: int | None  # None: until invalidated
    jti: str


class TokenService:
    """Issues, checks and revokes tokens.

    As on Ocean Node, a token lives until it is invalidated, or until the ``valid_until`` its
    client asked for (unix seconds, or milliseconds as ocean.js sends them). ``lifetime``
    (seconds), when set, caps every token: a later or missing ``valid_until`` becomes
    now + lifetime.
    """

    def __init__(
        self,
        secret: bytes,
        database: Path | Database,
        *,
        lifetime: int | None,
        clock: Callable[[], float],
    ) -> None:
        if len(secret) < _MIN_SECRET_BYTES:
            raise ValueError(f"the auth token secret must be at least {_MIN_SECRET_BYTES} bytes")
        if lifetime is not None and lifetime <= 0:
            raise ValueError("the auth token lifetime must be positive (or None: no cap)")
        self._secret = secret
        self._db = as_database(database)
        self._lifetime = lifetime
        self._clock = clock
        self._db.ensure_schema(AUTH_SCHEMA, AUTH_MIGRATIONS)

    def issue(self, address: str, valid_until: int | None = None) -> str:
        now = self._clock()
        limits = [] if self._lifetime is None else [now + self._lifetime]
        if valid_until is not None:
            requested = valid_until / 1000 if valid_until > _MILLISECONDS_THRESHOLD else valid_until
            if requested <= now:
                raise BadRequest("validUntil is in the past")
            limits.append(requested)
        payload: dict[str, object] = {
            "address": address,
            "iat": math.floor(now),
            "jti": uuid.uuid4().hex,
        }
        if limits:
            payload["exp"] = math.floor(min(limits))
        return jwt.encode(payload, self._secret, algorithm=_ALGORITHM)

    def verify(self, token: str) -> str:
        """The address the token was issued to; Unauthorized if forged, expired or revoked."""
        claims = self._decode(token)
        if claims.expires_at is not None and self._clock() >= claims.expires_at:
            raise Unauthorized("auth token has expired")
        if self._is_revoked(claims.jti):
            raise Unauthorized("auth token has been invalidated")
        return claims.address

    def invalidate(self, token: str, owner: str) -> None:
        """Revoke the token for good; only the address it was issued to may do so."""
        claims = self._decode(token)
        if claims.address.lower() != owner.lower():
            raise Forbidden("only the address a token was issued to can invalidate it")
        now = math.floor(self._clock())
        with self._db.transaction() as tx:
            # A revocation is needed only while the token could still pass verify().
            tx.execute("DELETE FROM revoked_tokens WHERE expires_at <= ?", (now,))
            tx.execute(
                "INSERT INTO revoked_tokens (jti, expires_at) VALUES (?, ?)"
                " ON CONFLICT (jti) DO NOTHING",
                (claims.jti, _NEVER if claims.expires_at is None else claims.expires_at),
            )

    def _decode(self, token: str) -> _Claims:
        try:
            payload = jwt.decode(
                token,
                self._secret,
                algorithms=[_ALGORITHM],
                # Expiry is checked against the injected clock, not PyJWT's time.time().
                options={
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                    "require": ["address", "jti"],
                },
            )
        except jwt.InvalidTokenError as error:
            raise Unauthorized("auth token is invalid") from error
        address, expires_at, jti = payload["address"], payload.get("exp"), payload["jti"]
        if (
            not isinstance(address, str)
            or not isinstance(jti, str)
            or not isinstance(expires_at, int | None)
            or isinstance(expires_at, bool)
        ):
            raise Unauthorized("auth token is invalid")
        return _Claims(address=address, expires_at=expires_at, jti=jti)

    def _is_revoked(self, jti: str) -> bool:
        found = self._db.execute("SELECT 1 FROM revoked_tokens WHERE jti = ?", (jti,))
        return found.first() is not None
