"""An export folder as one import (`cockpit import bundle DIR`): which kind each file holds, and the order the
kinds land in, each before the kinds that name its records.

A file's kind comes from the manifest `cockpit-bundle.toml` in the folder when it names the file, else from
the file's name: the end of its stem (before `.csv`, `.tsv`, `.txt`, `.jsonl` or `.ndjson`, and `.gz`) in words
names a kind (`accounts`, `ravenstack_feature_usage` is usage), a kind by another name (`companies`,
`invoices`...) or a profile (`hubspot-companies.csv` is accounts read through that profile); the longest such
end wins (`stripe_invoices` is the profile, not plain transactions). Files of other names and types are
listed as not recognised, never read.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from cockpit.errors import CockpitError
from cockpit.importer.kind_names import KIND_SUMMARIES, KindName

MANIFEST = "cockpit-bundle.toml"
ORDER = (
    "products", "features", "complements", "accounts", "contacts", "entitlements", "subscriptions",
    "churn_events", "transactions", "tickets", "surveys", "interactions", "signals", "usage",
)  # fmt: skip
"""The order kinds land in: the catalogue, the accounts and their people, what they own, then their events."""
_OTHER_NAMES = {
    "companies": "accounts",
    "customers": "accounts",
    "people": "contacts",
    "feature_usage": "usage",
    "usage_events": "usage",
    "events": "usage",
    "track": "usage",
    "support_tickets": "tickets",
    "invoices": "transactions",
    "orders": "transactions",
    "payments": "transactions",
    "responses": "surveys",
    "nps": "surveys",
    "activities": "interactions",
    "churn": "churn_events",
    "churns": "churn_events",
}
"""Names exports give files of a kind (`ravenstack_support_tickets.csv`, `orders.csv`)."""
_SUFFIXES = re.compile(r"\.(csv|tsv|txt|jsonl|ndjson)(\.gz)?$", re.IGNORECASE)
_WORDS = re.compile(r"[a-z0-9]+")

assert set(ORDER) == set(KIND_SUMMARIES) - {KindName.bundle}, "every kind has its place in a bundle"


class BundleError(CockpitError):
    title = "Cannot read the bundle"
    exit_code = 2


@dataclass(frozen=True)
class BundleFile:
    path: Path
    kind: str
    profile: str | None = None
    overrides: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Bundle:
    files: list[BundleFile]
    """The files to import, kind by kind in `ORDER`, by name within a kind."""
    unrecognised: list[Path]


def read_bundle(directory: Path, profiles: Mapping[str, str]) -> Bundle:
    """The files of `directory` and what each holds; `profiles` maps each profile's name to its kind."""
    if not directory.is_dir():
        raise BundleError(
            f"{directory}: not a folder.", hint="Name the folder that holds the export's files."
        )
    manifest = _manifest(directory / MANIFEST, profiles)
    names = _file_names(profiles)
    found: list[BundleFile] = []
    unrecognised: list[Path] = []
    for path in sorted(directory.iterdir()):
        if path.name == MANIFEST or not path.is_file():
            continue
        listed = manifest.get(path.name)
        if listed is not None:
            found.append(listed)
            continue
        recognised = _recognised(path.name, names)
        if recognised is None:
            unrecognised.append(path)
        else:
            found.append(BundleFile(path, *recognised))
    absent = sorted(set(manifest) - {file.path.name for file in found})
    if absent:
        raise BundleError(
            f"{directory / MANIFEST}: names no file {', '.join(repr(name) for name in absent)}."
        )
    found.sort(key=lambda file: (ORDER.index(file.kind), file.path.name))
    return Bundle(found, unrecognised)


def _file_names(profiles: Mapping[str, str]) -> dict[str, tuple[str, str | None]]:
    """Each name a file's stem may end in (words joined by _) -> its kind and profile."""
    names: dict[str, tuple[str, str | None]] = {kind: (kind, None) for kind in ORDER}
    names.update({name: (kind, None) for name, kind in _OTHER_NAMES.items()})
    names.update({"_".join(_WORDS.findall(name.lower())): (kind, name) for name, kind in profiles.items()})
    return names


def _recognised(file_name: str, names: dict[str, tuple[str, str | None]]) -> tuple[str, str | None] | None:
    stem, readable = _SUFFIXES.subn("", file_name)
    if not readable:
        return None
    words = _WORDS.findall(stem.lower())
    for start in range(len(words)):
        found = names.get("_".join(words[start:]))
        if found is not None:
            return found
    return None


def _manifest(path: Path, profiles: Mapping[str, str]) -> dict[str, BundleFile]:
    """The files the manifest names, each with its kind and, optionally, its profile and `--map`s."""
    if not path.is_file():
        return {}
    try:
        manifest = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise BundleError(f"{path}: cannot be read ({error}).") from None
    shape = 'each file is a table [files."NAME.csv"] with kind = "...", and optionally profile = "..." and map = {...}'
    files = manifest.pop("files", {})
    if manifest or not isinstance(files, dict):
        raise BundleError(f"{path}: only [files] tables are read.", hint=shape)
    found: dict[str, BundleFile] = {}
    for name, entry in files.items():
        kind = entry.get("kind") if isinstance(entry, dict) else None
        profile = entry.get("profile") if isinstance(entry, dict) else None
        overrides = entry.get("map", {}) if isinstance(entry, dict) else None
        if (
            not isinstance(entry, dict)
            or set(entry) - {"kind", "profile", "map"}
            or not isinstance(overrides, dict)
            or not all(isinstance(value, str) for value in overrides.values())
        ):
            raise BundleError(f"{path}: {name}: not understood.", hint=shape)
        if kind not in ORDER:
            raise BundleError(f"{path}: {name}: {kind!r} is not a kind; kinds: {', '.join(ORDER)}.")
        if profile is not None and profiles.get(profile) != kind:
            raise BundleError(f"{path}: {name}: no profile {profile!r} for {kind}.")
        found[name] = BundleFile(path.parent / name, kind, profile, overrides)
    return found
