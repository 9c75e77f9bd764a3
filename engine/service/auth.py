"""Bearer-token authentication of ``/v1/*``.

The token comes from ``--token-file``; the header is compared with ``hmac.compare_digest``, so the
time taken does not tell how much of a guess was right.  A request without the header is compared
too (against an empty guess).  Neither the token nor the header is ever logged or echoed.
"""
from __future__ import annotations

import hmac

_PREFIX = b"bearer "


class BearerAuth:
    def __init__(self, token: bytes | None) -> None:
        self._expected = token

    @property
    def enabled(self) -> bool:
        return self._expected is not None

    def allows(self, authorization: bytes | None) -> bool:
        """True if no token is configured, or ``authorization`` is ``Bearer <the token>``."""
        if self._expected is None:
            return True
        value = authorization or b""
        given = value[len(_PREFIX):] if value[:len(_PREFIX)].lower() == _PREFIX else b""
        return hmac.compare_digest(given.strip(), self._expected)
