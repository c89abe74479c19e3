"""CRM secrets: from an environment variable, else the OS keyring; never from the config or the database.

A secret is held as a `Secret`, whose repr and str never show the value, and every value read is
remembered (in memory only) so that `redact` can blank it out of any text before it is shown, stored or
logged: an error message that quotes a request or a response cannot leak a token.
"""

from __future__ import annotations

import os
import threading

import keyring
import keyring.errors

from cockpit.errors import ConfigError

KEYRING_SERVICE = "cockpit"
MASK = "[redacted]"

_known: set[str] = set()
_known_lock = threading.Lock()


class MissingSecret(ConfigError):
    title = "CRM credentials missing"


class Secret:
    """A secret value that does not show itself by accident (repr, str, f-strings, logs)."""

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str) -> None:
        self._value = value
        self.source = source
        """Where it came from, e.g. `$COCKPIT_HUBSPOT_TOKEN`: safe to show."""
        with _known_lock:
            _known.add(value)

    def reveal(self) -> str:
        """The value itself, for the one place that sends it (an Authorization header, a token request)."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK} from {self.source})"

    __str__ = __repr__


def _from_keyring(name: str) -> str | None:
    try:
        return keyring.get_password(KEYRING_SERVICE, name)
    except keyring.errors.KeyringError:
        return None  # no usable keyring on this machine: the environment is the only source


def load_secret(variable: str) -> Secret | None:
    """The secret named `variable`: the environment variable of that name, else the keyring entry
    (service "cockpit", user `variable`)."""
    value = os.environ.get(variable)
    if value:
        return Secret(value, f"${variable}")
    value = _from_keyring(variable)
    if value:
        return Secret(value, f"keyring {KEYRING_SERVICE}/{variable}")
    return None


def require_secret(variable: str, *, crm: str) -> Secret:
    secret = load_secret(variable)
    if secret is None:
        raise MissingSecret(
            f"{crm}: no credentials: ${variable} is not set and the OS keyring has no entry "
            f"{KEYRING_SERVICE}/{variable}.",
            hint=f"export {variable}=... (or `keyring set {KEYRING_SERVICE} {variable}`) before `cockpit sync`.",
        )
    return secret


def remember(value: str) -> None:
    """Treat `value` as secret from now on (e.g. an access token a CRM handed out)."""
    if value:
        with _known_lock:
            _known.add(value)


def redact(text: str) -> str:
    """`text` with every secret read so far blanked out."""
    with _known_lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, MASK)
    return text
