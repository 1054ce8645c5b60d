"""Small string formats the DSL checks: identifiers, semantic versions, cron expressions.

Kept apart from the models so the rules read as data and the messages say exactly what a
valid value looks like.
"""

from __future__ import annotations

import re

IDENTIFIER = re.compile(r"[a-z][a-z0-9_]{0,62}")
IDENTIFIER_RULE = "lowercase letters, digits and _, starting with a letter, at most 63 characters"

# semver.org's own regular expression (numbered groups: major, minor, patch, prerelease, build).
SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?"
)

# The registry's columns (migration 0002): `workflows.version varchar(50)`, `schedule varchar(100)`,
# `name varchar(200)`; its SQL orders versions by MAJOR.MINOR.PATCH cast to `int` (at most 2**31 - 1).
MAX_VERSION_LENGTH = 50
MAX_VERSION_NUMBER = 2**31 - 1
MAX_SCHEDULE_LENGTH = 100
MAX_NAME_LENGTH = 200

VersionKey = tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]


def check_identifier(value: str, what: str) -> str:
    if not IDENTIFIER.fullmatch(value):
        raise ValueError(f"bad {what} `{value}`: use {IDENTIFIER_RULE}")
    return value


def check_version(value: str) -> str:
    match = SEMVER.fullmatch(value)
    if not match:
        raise ValueError(f"bad version `{value}`: use a semantic version like 1.0.0 (MAJOR.MINOR.PATCH)")
    if len(value) > MAX_VERSION_LENGTH:
        raise ValueError(f"version `{value[:20]}…` is {len(value)} characters long; "
                         f"use at most {MAX_VERSION_LENGTH} (shorten the prerelease or build part)")
    if any(int(number) > MAX_VERSION_NUMBER for number in match.groups()[:3]):
        raise ValueError(f"bad version `{value}`: MAJOR, MINOR and PATCH must each be at most {MAX_VERSION_NUMBER}")
    return value


def version_key(version: str) -> VersionKey:
    """Semantic-version precedence: a release outranks its prereleases; numeric ids rank below alphanumeric."""
    match = SEMVER.fullmatch(version)
    if match is None:
        raise ValueError(f"bad version `{version}`: use a semantic version like 1.0.0")
    major, minor, patch, pre, _build = match.groups()
    if pre is None:
        return int(major), int(minor), int(patch), 1, ()
    ids = tuple((0, int(part)) if part.isdigit() else (1, part) for part in pre.split("."))
    return int(major), int(minor), int(patch), 0, ids


def version_suffix(version: str) -> str:
    """`1.2.0` -> `v1_2_0`; prerelease and build characters become `_` so the result is a valid name."""
    return "v" + re.sub(r"[^A-Za-z0-9_]", "_", version)


# --------------------------------------------------------------------------- cron
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_CRON_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {m: i + 1 for i, m in enumerate(_MONTHS)}),
    ("day of week", 0, 7, {d: i for i, d in enumerate(_DAYS)}),
)


def _cron_value(text: str, low: int, high: int, names: dict[str, int], what: str) -> int:
    number = names.get(text.lower()) if not text.isdigit() else int(text)
    if number is None or not low <= number <= high:
        raise ValueError(f"{what} `{text}` is out of range {low}-{high}")
    return number


def _check_cron_part(part: str, low: int, high: int, names: dict[str, int], what: str) -> None:
    base, _, step = part.partition("/")
    if step and (not step.isdigit() or int(step) == 0):
        raise ValueError(f"{what} step `/{step}` must be a positive number")
    if base in ("*", "?"):
        return
    first, _, last = base.partition("-")
    start = _cron_value(first, low, high, names, what)
    if last and _cron_value(last, low, high, names, what) < start:
        raise ValueError(f"{what} range `{base}` runs backwards")


def check_cron(value: str) -> str:
    if len(value) > MAX_SCHEDULE_LENGTH:
        raise ValueError(f"schedule is {len(value)} characters long; use at most {MAX_SCHEDULE_LENGTH} "
                         "(ranges such as 0-30 and steps such as */5 shorten long lists)")
    fields = value.split()
    if len(fields) != 5:
        raise ValueError(
            f"bad schedule `{value}`: use a cron expression with 5 fields "
            "(minute hour day-of-month month day-of-week), e.g. \"0 3 * * *\""
        )
    for text, (what, low, high, names) in zip(fields, _CRON_FIELDS, strict=True):
        for part in text.split(","):
            try:
                _check_cron_part(part, low, high, names, what)
            except ValueError as exc:
                raise ValueError(f"bad schedule `{value}`: {exc}") from None
    return value
