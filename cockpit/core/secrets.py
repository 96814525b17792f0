"""Secrets by name: the OS keyring first, then COCKPIT_SECRET_<NAME> (for CI).

A secret's value never appears in output, logs or exceptions: errors name the secret, never its value.
"""

from __future__ import annotations

import os
import re

SERVICE = "release-cockpit"


class MissingSecret(Exception):
    def __init__(self, name: str):
        self.name = name
        super().__init__(
            f"secret {name!r} is not set: run `cockpit secrets set {name}` "
            f"(or set {env_name(name)} for CI)"
        )


def env_name(name: str) -> str:
    return "COCKPIT_SECRET_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


def get_secret(name: str) -> str:
    """The secret's value; raise MissingSecret naming it when neither keyring nor env holds it."""
    value = _from_keyring(name)
    if value is None:
        value = os.environ.get(env_name(name))
    if not value:
        raise MissingSecret(name)
    return value


def _from_keyring(name: str) -> str | None:
    try:
        import keyring  # lazy: keyring probes backends at import
        from keyring.errors import KeyringError

        try:
            return keyring.get_password(SERVICE, name)
        except KeyringError:
            return None
    except Exception:  # no usable backend on a headless machine: fall back to the environment
        return None


def set_secret(name: str, value: str) -> None:
    import keyring

    keyring.set_password(SERVICE, name, value)


def delete_secret(name: str) -> None:
    import keyring

    keyring.delete_password(SERVICE, name)
