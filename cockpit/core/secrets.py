"""Secrets by name: the OS keyring first, then COCKPIT_SECRET_<NAME> (for CI).

A secret's value never appears in output, logs or exceptions: errors name the secret, never its
value. Every value fetched in this process is remembered (in memory only) so `redact()` can scrub
it from any text that leaves the process — remote error bodies that echo a token, exception
messages, log payloads — whatever path the text took.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Any

SERVICE = "release-cockpit"
MASK = "[redacted]"
# Shorter values would scrub ordinary words out of every message; no real token is this short.
_MIN_REDACT = 4


class MissingSecret(Exception):
    def __init__(self, name: str):
        self.name = name
        super().__init__(
            f"secret {name!r} is not set: run `cockpit secrets set {name}` "
            f"(or set {env_name(name)} for CI)"
        )


class SecretStoreError(Exception):
    """The keyring cannot store or delete (no usable backend); the message says what to do instead."""


def env_name(name: str) -> str:
    return "COCKPIT_SECRET_" + re.sub(r"[^A-Za-z0-9]", "_", name).upper()


# -- redaction ---------------------------------------------------------------------

_known: set[str] = set()
_known_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Remember a value so `redact()` scrubs it (done by get_secret; call it for secrets from elsewhere)."""
    if value and len(value) >= _MIN_REDACT:
        with _known_lock:
            _known.add(value)


def redact(text: str) -> str:
    """`text` with every known secret value replaced by [redacted] (longest first: one may contain another)."""
    if not text:
        return text
    with _known_lock:
        values = sorted(_known, key=len, reverse=True)
    for v in values:
        if v in text:
            text = text.replace(v, MASK)
    return text


def redact_obj(obj: Any) -> Any:
    """A JSON-like value with every string (keys included) redacted; for log payloads."""
    if isinstance(obj, str):
        return redact(obj)
    if isinstance(obj, dict):
        return {redact(k) if isinstance(k, str) else k: redact_obj(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [redact_obj(v) for v in obj]
    return obj


# -- access ------------------------------------------------------------------------


def get_secret(name: str) -> str:
    """The secret's value; raise MissingSecret naming it when neither keyring nor env holds it."""
    value = _from_keyring(name)
    if value is None:
        value = os.environ.get(env_name(name))
    if not value:
        raise MissingSecret(name)
    register_secret(value)
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


_NO_BACKEND_HINT = (
    "no usable OS keyring here. On a headless machine, use the file keyring "
    "(PYTHON_KEYRING_BACKEND=keyrings.alt.file.PlaintextKeyring, stored unencrypted under "
    "$XDG_DATA_HOME/python_keyring) or give the secret as {env} instead"
)


def set_secret(name: str, value: str) -> None:
    if not value:
        raise SecretStoreError(f"refusing to store an empty value for secret {name!r}")
    register_secret(value)
    try:
        # startup: keyring probes its backends at import; loaded only when a secret is stored
        import keyring
        from keyring.errors import KeyringError, NoKeyringError

        keyring.set_password(SERVICE, name, value)
    except NoKeyringError:
        raise SecretStoreError(_NO_BACKEND_HINT.format(env=env_name(name))) from None
    except KeyringError as e:
        raise SecretStoreError(f"the keyring refused to store {name!r}: {redact(str(e))}") from None


def delete_secret(name: str) -> None:
    """Remove the secret from the keyring; MissingSecret when it was not there."""
    try:
        # startup: keyring probes its backends at import; loaded only when a secret is deleted
        import keyring
        from keyring.errors import KeyringError, NoKeyringError, PasswordDeleteError

        keyring.delete_password(SERVICE, name)
    except PasswordDeleteError:
        raise MissingSecret(name) from None
    except NoKeyringError:
        raise SecretStoreError(_NO_BACKEND_HINT.format(env=env_name(name))) from None
    except KeyringError as e:
        raise SecretStoreError(f"the keyring refused to delete {name!r}: {redact(str(e))}") from None
