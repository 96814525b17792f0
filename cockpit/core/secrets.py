"""Secrets by name: the OS keyring first, then COCKPIT_SECRET_<NAME> (for CI).

A secret's value never appears in output, logs or exceptions: errors name the secret, never its
value. Every value fetched in this process is remembered (in memory only) so `redact()` can scrub
it from any text that leaves the process — remote error bodies that echo a token, exception
messages, log payloads — whatever path the text took, and whatever encoding it came back in.
"""

from __future__ import annotations

import base64
import os
import re
import sys
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, unquote_plus

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
#
# A secret may come back transformed: base64 (standard or URL-safe, padded or not, inside a longer
# blob such as a Basic header), percent-encoded, in another case, JSON-escaped (once or more), or
# split by whitespace. Everything is computed once per registered secret: one regex that masks every
# form, and needles for a cheap first look — the text and a few decoded views of it, case-folded and
# without whitespace, searched for the plain secret and for its base64 — so the regex (the slow part)
# runs only on the rare text that may hold an echo.


@dataclass(frozen=True)
class _Redaction:
    pattern: re.Pattern[str]
    """Every form of every known secret, longest first (one secret may contain another)."""
    plain: tuple[str, ...]
    """Each secret case-folded, without whitespace: looked for in the text and its decoded views."""
    b64: tuple[str, ...]
    """The base64 of each secret at each alignment (standard alphabet), case-folded."""
    spaced: bool
    """Some secret holds whitespace (percent-encoded as +)."""


_known: set[str] = set()
_known_lock = threading.Lock()
_redaction: _Redaction | None = None

# Between any two characters of an echo: whitespace (a token split by a space, base64 wrapped at 76).
_GAP = r"\s*"
# Encoded forms shorter than this would mask ordinary words (a few base64 letters match anything).
_MIN_ENCODED = 8
_JSON_ESCAPE = re.compile(r"\\+(?:u([0-9a-fA-F]{4})|([\"/\\]))")
_URLSAFE = str.maketrans("-_", "+/")


def register_secret(value: str | None) -> None:
    """Remember a value so `redact()` scrubs it (done by get_secret; call it for secrets from elsewhere)."""
    global _redaction
    if value and len(value) >= _MIN_REDACT:
        with _known_lock:
            if value in _known:
                return
            _known.add(value)
            variants = sorted((v for secret in _known for v in _variants(secret)), key=lambda v: -v[0])
            _redaction = _Redaction(
                pattern=re.compile("|".join(source for _, source in variants), re.IGNORECASE),
                plain=tuple(_squash(secret) for secret in _known),
                b64=tuple(_squash(b) for secret in _known for b in _b64_stable(secret)),
                spaced=any(_squash(secret) != secret.casefold() for secret in _known),
            )


def _char(c: str) -> str:
    """One character of a secret as it may come back: itself (any case, by the regex's flag),
    percent-encoded (%2f, %2F, + for a space), or JSON-escaped once or more (\\u002f, \\/, \\\\/)."""
    forms = [re.escape(c)]
    for cased in dict.fromkeys((c, c.upper(), c.lower())):  # escaped after a change of case, too
        if len(cased) != 1:
            continue
        forms.append("".join(f"%{b:02x}" for b in cased.encode("utf-8", "surrogatepass")))
        units = cased.encode("utf-16-be", "surrogatepass")
        forms.append("".join(rf"\\+u{units[i]:02x}{units[i + 1]:02x}" for i in range(0, len(units), 2)))
    if c.isspace():
        forms.append(r"\+")
    if c in "\"/":
        forms.append(r"\\+" + re.escape(c))
    if c == "\\":
        forms.append(r"\\+")
    return "(?:" + "|".join(dict.fromkeys(forms)) + ")"


def _b64_stable(secret: str) -> list[str]:
    """base64 of the secret at the three alignments it can have inside a longer blob: of each, the
    characters that depend on the secret alone (skipping alignments that leave too few)."""
    raw = secret.encode("utf-8", "surrogatepass")
    out = []
    for k in range(3):
        encoded = base64.b64encode(b"\0" * k + raw).decode("ascii")
        stable = encoded[(8 * k + 5) // 6:(8 * (k + len(raw))) // 6]
        if len(stable) >= _MIN_ENCODED:
            out.append(stable)
    return out


def _b64(chars: str) -> str:
    # One pattern for both alphabets: standard + / and URL-safe - _.
    table = {"+": "[+-]", "/": "[/_]"}
    return _GAP.join(table.get(c, c) for c in chars)


def _variants(secret: str) -> list[tuple[int, str]]:
    """(length, regex) for each form `secret` may come back in. Aligned at the start, base64's final
    partial character and its padding belong to the secret too."""
    out = [(len(secret), _GAP.join(_char(c) for c in secret))]
    whole = base64.b64encode(secret.encode("utf-8", "surrogatepass")).decode("ascii")
    for stable in _b64_stable(secret):
        source = _b64(stable)
        tail = whole[len(stable):].rstrip("=")
        if whole.startswith(stable) and tail:
            source += f"(?:{_GAP}{_b64(tail)}(?:{_GAP}(?:=|%3d)){{0,2}})?"
        out.append((len(stable), source))
    return out


def _squash(text: str) -> str:
    return "".join(text.casefold().split())


def _json_unescape(text: str) -> str:
    out = _JSON_ESCAPE.sub(lambda m: chr(int(m[1], 16)) if m[1] else m[2], text)
    # \ud83d\ude00 (a pair of escapes) is one character
    return out.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _may_hold_a_secret(text: str, r: _Redaction) -> bool:
    views = [_squash(text)]
    if "%" in text or (r.spaced and "+" in text):
        views += [unquote(views[0]).casefold()] + ([unquote_plus(views[0]).casefold()] if r.spaced else [])
    if "\\" in text:
        views += [_json_unescape(v).casefold() for v in views]
    if any(p in v for v in views for p in r.plain):
        return True
    views = [v.translate(_URLSAFE) for v in views]
    return any(b in v for v in views for b in r.b64)


def redact(text: str) -> str:
    """`text` with every known secret replaced by [redacted], in any of the encodings it may come back in
    (base64, percent-encoded, another case, JSON-escaped, split by whitespace)."""
    r = _redaction
    if r is None or not text or not _may_hold_a_secret(text, r):
        return text
    return r.pattern.sub(MASK, text)


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


def _keep_out_unusable_backends() -> None:
    """Before keyring probes its backends. Outside macOS its macOS backend cannot be used (its priority says
    "macOS required"), yet importing it looks for three frameworks with ctypes.util.find_library, which on
    Linux runs ldconfig, gcc and ld for each: ~25 ms of every command that reads a secret. Kept out, that
    import fails at once, a failure the backend already handles."""
    if sys.platform != "darwin":
        sys.modules.setdefault("keyring.backends.macOS.api", None)  # type: ignore[arg-type]


def _from_keyring(name: str) -> str | None:
    _keep_out_unusable_backends()
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
    _keep_out_unusable_backends()
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
    _keep_out_unusable_backends()
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
