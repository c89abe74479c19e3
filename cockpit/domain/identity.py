"""How a reference to an account is read, whatever system wrote it: the forms of a Salesforce id, the host
of a website address, the domain of an email. Pure: the store looks the forms up, and every account they
find must be the same one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

_SALESFORCE_15 = re.compile(r"^[A-Za-z0-9]{15}$")
_SALESFORCE_18 = re.compile(r"^[A-Za-z0-9]{18}$")
_SUFFIX_ALPHABET: Final = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"

FREE_MAIL_DOMAINS: Final = frozenset(
    {
        "aol.com",
        "fastmail.com",
        "gmail.com",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "googlemail.com",
        "hey.com",
        "hotmail.co.uk",
        "hotmail.com",
        "hotmail.de",
        "hotmail.fr",
        "icloud.com",
        "live.com",
        "mac.com",
        "mail.com",
        "mail.ru",
        "me.com",
        "msn.com",
        "outlook.com",
        "pm.me",
        "proton.me",
        "protonmail.com",
        "qq.com",
        "web.de",
        "yahoo.co.uk",
        "yahoo.com",
        "yahoo.de",
        "yahoo.fr",
        "yandex.com",
        "yandex.ru",
        "zoho.com",
    }
)
"""Mail services anyone can sign up to: their domain names a person, never a company."""


def salesforce_suffix(id15: str) -> str:
    """The three characters Salesforce appends to a 15-character id to make its case-insensitive 18-character
    form: for each five characters, a bit per upper-case letter (the first character the lowest bit), read
    as an index into A-Z0-5."""
    return "".join(
        _SUFFIX_ALPHABET[
            sum(1 << bit for bit, char in enumerate(id15[start : start + 5]) if "A" <= char <= "Z")
        ]
        for start in (0, 5, 10)
    )


def salesforce_forms(ref: str) -> tuple[str, str] | None:
    """The 15- and 18-character forms of the Salesforce id `ref` is (the same record), or None where it is
    not one. An 18-character id restores the case of its first 15 from its suffix, so that it is matched
    even where a tool changed its case."""
    if _SALESFORCE_15.match(ref):
        return ref, ref + salesforce_suffix(ref)
    if not _SALESFORCE_18.match(ref):
        return None
    suffix = ref[15:].upper()
    if any(char not in _SUFFIX_ALPHABET for char in suffix):
        return None
    id15 = []
    for chunk, code in enumerate(suffix):
        bits = _SUFFIX_ALPHABET.index(code)
        for bit, char in enumerate(ref[chunk * 5 : chunk * 5 + 5]):
            upper = bool(bits >> bit & 1)
            if upper and not char.isalpha():
                return None  # the suffix says a letter where there is a digit: not a Salesforce id
            id15.append(char.upper() if upper else char.lower())
    restored = "".join(id15)
    return restored, restored + suffix


def email_domain(ref: str) -> str | None:
    """The domain of the email address `ref` is, lower-cased (None: not an email address)."""
    local, at, domain = ref.strip().rpartition("@")
    if not at or not local or "." not in domain or " " in ref.strip():
        return None
    return domain.lower().rstrip(".")


def host_of(ref: str) -> str:
    """The host name a domain or a website address names, lower-cased, without `www.`
    (`https://www.Acme.com/about` -> `acme.com`)."""
    host = ref.strip().lower().split("://", 1)[-1].split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    host = host.rsplit("@", 1)[-1].split(":", 1)[0].rstrip(".")
    return host.removeprefix("www.")


def domain_forms(ref: str, subdomains: Sequence[str] = ()) -> tuple[str, ...]:
    """The domains an account reference may mean: the host it names, and that host without one of the
    configured `subdomains` (`app.acme.com` is `acme.com` too, where `app` is one); none where it names no
    host (a plain id), or a free-mail address."""
    domain = email_domain(ref)
    if domain in FREE_MAIL_DOMAINS:
        return ()
    host = host_of(ref if domain is None else domain)
    if "." not in host or not re.fullmatch(r"[a-z0-9.-]+\.[a-z0-9-]*[a-z][a-z0-9-]*", host):
        return ()
    forms = [host]
    label, _dot, rest = host.partition(".")
    if label in subdomains and "." in rest:
        forms.append(rest)
    return tuple(forms)
