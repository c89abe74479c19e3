"""CRM secrets: from an environment variable, else the OS keyring; never from the config or the database.

A secret is checked as it is loaded: whitespace anywhere (a trailing newline or carriage return from a
Windows-edited env file or a pasted keyring value), control characters and non-ASCII characters are refused
with an error naming the variable, never the value (no HTTP header could carry them anyway).

A secret is held as a `Secret`, whose repr and str never show the value, and every value read is
remembered (in memory only) so that `redact` can blank it out of any text before it is shown, stored or
logged, in every form a request or an echoing server may give it: raw, URL-encoded (`quote`, `quote_plus`,
either case of hex digits), form-encoded and JSON-escaped. An error message that quotes a request or a
response cannot leak a token.
"""

from __future__ import annotations

import os
import re
import threading

import keyring
import keyring.errors

from cockpit.errors import ConfigError

KEYRING_SERVICE = "cockpit"
MASK = "[redacted]"

_known: set[str] = set()
_known_lock = threading.Lock()
_pattern: re.Pattern[str] | None = None
"""Every known secret in every form, longest first; rebuilt when a secret is added."""


class MissingSecret(ConfigError):
    title = "CRM credentials missing"


class BadSecret(ConfigError):
    title = "CRM credentials unusable"


def flaw(value: str) -> str | None:
    """What makes `value` unusable as a credential (in words that do not quote it), or None."""
    if any(character.isspace() for character in value):
        where = "leading or trailing" if value != value.strip() else "inner"
        return f"it contains {where} whitespace (e.g. a newline or carriage return)"
    if not value.isascii():
        return "it contains non-ASCII characters"
    if not value.isprintable():
        return "it contains control characters"
    return None


class Secret:
    """A secret value that does not show itself by accident (repr, str, f-strings, logs)."""

    __slots__ = ("_value", "source")

    def __init__(self, value: str, source: str) -> None:
        self._value = value
        self.source = source
        """Where it came from, e.g. `$COCKPIT_HUBSPOT_TOKEN`: safe to show."""
        remember(value)

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
    (service "cockpit", user `variable`). Raises `BadSecret` if it is unusable (see `flaw`)."""
    value = os.environ.get(variable)
    source = f"${variable}"
    if not value:
        value = _from_keyring(variable)
        source = f"keyring {KEYRING_SERVICE}/{variable}"
    if not value:
        return None
    remember(value)  # before anything can quote it
    problem = flaw(value)
    if problem is not None:
        raise BadSecret(
            f"the credential in {source} is unusable: {problem}.",
            hint=f"Set {variable} again without the stray characters (the value is not shown here).",
        )
    return Secret(value, source)


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
    """Treat `value` as secret from now on (e.g. an access token a CRM handed out), and its stripped form."""
    global _pattern
    forms = {form for form in (value, value.strip()) if form}
    with _known_lock:
        if not forms <= _known:
            _known.update(forms)
            _pattern = None


def _character(character: str) -> str:
    """A pattern for one character of a secret in any of its encoded forms."""
    if character.isascii() and character.isalnum():
        return character
    ways = [re.escape(character)]
    ways.append("".join(f"%{byte:02X}" for byte in character.encode()))  # quote, quote_plus, a form body
    ways.append(re.escape(f"\\u{ord(character):04x}" if not character.isascii() else f"\\{character}"))
    if character == " ":
        ways.append(r"\+")
    return "(?:" + "|".join(ways) + ")"


def _secrets_pattern() -> re.Pattern[str] | None:
    global _pattern
    with _known_lock:
        if _pattern is None and _known:
            forms = sorted(_known, key=len, reverse=True)
            _pattern = re.compile(
                "|".join("".join(_character(c) for c in form) for form in forms), re.IGNORECASE
            )
        return _pattern


def redact(text: str) -> str:
    """`text` with every secret read so far blanked out, in whichever form it appears."""
    pattern = _secrets_pattern()
    return text if pattern is None else pattern.sub(MASK, text)
