"""``DATABASE_URL`` as a secret: shown with its password masked, revealed only on request.

``str``, ``repr``, logs and JSON dumps show ``postgresql://user:***@host/db``;
``get_secret_value()`` is the one way to the real URL (``open_store`` takes it).
``scrub`` takes the password out of any text, such as a driver's error message, which may
echo the part of the URL it could not parse.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from pydantic import Secret

MASK = "***"
# libpq takes a password in the URL's user info or as a query parameter (``password=``,
# and ``sslpassword=`` for a client key); a key/value string spells it the same way.
_PASSWORD_PARAMETER = re.compile(r"(?i)(\b\w*password\s*=\s*)('[^']*'|[^&\s]*)")


def _split_user_info(url: str) -> tuple[str, str, str | None, str] | None:
    """``(scheme://, user, password or None, rest)`` of a URL with user info, else None.

    The user info ends at the last ``@``: a password with an unescaped ``@`` or ``/`` is
    still masked whole (a URL with ``@`` in its query is masked up to there: more, not less).
    """
    scheme, separator, remainder = url.partition("://")
    if not separator or "@" not in remainder:
        return None
    user_info, _, rest = remainder.rpartition("@")
    user, colon, password = user_info.partition(":")
    return f"{scheme}://", user, password if colon else None, rest


def mask(url: str) -> str:
    """``url`` with every password in it replaced by ``***``."""
    parts = _split_user_info(url)
    if parts is not None:
        scheme, user, password, rest = parts
        url = f"{scheme}{user}{'' if password is None else ':' + MASK}@{rest}"
    return _PASSWORD_PARAMETER.sub(lambda match: match.group(1) + MASK, url)


def passwords(url: str) -> set[str]:
    """Every password ``url`` holds, as written and percent-decoded."""
    found: set[str] = set()
    parts = _split_user_info(url)
    if parts is not None and parts[2]:
        found.add(parts[2])
    found.update(match.group(2).strip("'") for match in _PASSWORD_PARAMETER.finditer(url))
    return {form for value in found if value for form in (value, unquote(value)) if form}


def scrub(text: str, url: str) -> str:
    """``text`` with ``url`` and each of its passwords masked wherever they appear."""
    text = text.replace(url, mask(url))
    for password in sorted(passwords(url), key=len, reverse=True):
        text = text.replace(password, MASK)
    return text


class DatabaseUrl(Secret[str]):
    """A store URL whose password never reaches a log, an error or a ``repr``."""

    def _display(self) -> str:
        return mask(self.get_secret_value())
