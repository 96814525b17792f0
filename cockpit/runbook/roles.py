"""Sign-off roles (seed 003's owner model): the two every release has, how a person's name is compared,
and the rules on a runbook's `[release] roles` and `distinct_roles`.

Plain functions, free of pydantic: the gate and the headless sign-off use them too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

RELEASE_OWNER = "Release Owner"
ROLLBACK_OWNER = "Rollback Owner"
DEFAULT_ROLES = (RELEASE_OWNER, ROLLBACK_OWNER)
"""Today's sign-off: a runbook that names no roles needs these two, and they may be one person (seed 003:
the Rollback Owner is the Release Owner or an engineer delegated before rollout)."""

ROLE_NAME_REGEX = r"^[^=\s\x00-\x1f\x7f](?:[^=\x00-\x1f\x7f]{0,78}[^=\s\x00-\x1f\x7f])?$"
"""A role's name: printable, no '=' (`cockpit signoff --role "Role=Name"`), no outer spaces, at most 80."""


def name_problem(name: str) -> str | None:
    """Why `name` cannot be a role's name, or None."""
    if re.fullmatch(ROLE_NAME_REGEX, name):
        return None
    return (f"{name!r} is not a role's name: up to 80 printable characters, no '=' and no spaces at either end, "
            "e.g. 'Incident Comms Owner'")


def person(name: str) -> str:
    """How two names given for roles are compared: spacing and case do not make another person."""
    return " ".join(name.split()).casefold()


def problems(roles: Sequence[str], distinct: Sequence[Sequence[str]]) -> list[str]:
    """What is wrong with a runbook's roles and distinct_roles, one sentence each."""
    out = []
    seen: dict[str, str] = {}
    for r in roles:
        if person(r) in seen:
            out.append(f"roles: {r!r} is named twice")
        seen.setdefault(person(r), r)
    missing = [r for r in DEFAULT_ROLES if r not in roles]
    if missing:
        out.append(f"roles must include {' and '.join(repr(r) for r in missing)}: the sign-off and the rollback "
                   "name them")
    for i, group in enumerate(distinct):
        if len(set(group)) < 2:
            out.append(f"distinct_roles[{i}]: a group names at least two different roles")
        unknown = [r for r in group if r not in roles]
        if unknown:
            out.append(f"distinct_roles[{i}] names {', '.join(repr(r) for r in unknown)}, not in roles "
                       f"({', '.join(roles)})")
    return out


def shared(named: dict[str, str], distinct: Sequence[Sequence[str]]) -> list[tuple[str, str, str]]:
    """(role, role, name) for each two roles of a distinct group held by the same person (blank names are
    judged as missing, not as shared)."""
    out = []
    for group in distinct:
        group = list(dict.fromkeys(group))
        for i, a in enumerate(group):
            for b in group[i + 1:]:
                na, nb = named.get(a, ""), named.get(b, "")
                if na.strip() and person(na) == person(nb):
                    out.append((a, b, na.strip()))
    return out


def assign(needed: Sequence[str], release_owner: str, rollback_owner: str, others: Mapping[str, str]) -> dict[str, str]:
    """Every role of the runbook -> the person named for it ("" when nobody is), as a sign-off records it.
    Raises ValueError for a role the runbook does not name, or an owner named twice, differently."""
    named = {RELEASE_OWNER: release_owner.strip(), ROLLBACK_OWNER: rollback_owner.strip()}
    for role, name in others.items():
        role, name = role.strip(), name.strip()
        if role not in needed:
            raise ValueError(f"{role!r} is not a role of this runbook; its roles: {', '.join(needed)}")
        if role in named and named[role] and person(named[role]) != person(name):
            raise ValueError(f"the {role} is named twice, as {named[role]!r} and as {name!r}")
        named[role] = named.get(role) or name
    return {role: named.get(role, "") for role in needed}
