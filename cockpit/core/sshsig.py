"""SSH signatures in git's scheme (OpenSSH's SSHSIG), made and checked as `ssh-keygen -Y sign|verify` do.

The key stays where it is. A key in ssh-agent signs through the agent's protocol (sshagent.py: a socket
round trip); a key file is signed with by `ssh-keygen -Y sign` (argv only, never a shell). Checking is
done in-process with the `cryptography` package: `log verify` checks every signed entry, and one
ssh-keygen per entry would cost milliseconds each. The tests check that ssh-keygen -Y verify agrees with
both. allowed_signers is git's file: `principals [options] keytype base64-key [comment]`.
"""

from __future__ import annotations

import base64
import fnmatch
import hashlib
import os
import re
import struct
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from cockpit.core import sshagent

SIGN_TIMEOUT_S = 30
_ARMOR = re.compile(r"-----BEGIN SSH SIGNATURE-----(.*?)-----END SSH SIGNATURE-----", re.S)
_KEY_TYPES = ("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
              "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com")


class SigningError(Exception):
    """No key to sign with, or ssh-keygen / the agent refused: the message says which and what to do."""


class BadSignature(Exception):
    """A signature that does not check out (malformed, another namespace, not over this message)."""


# -- reading a signature ---------------------------------------------------------------------------


def _string(data: bytes, at: int) -> tuple[bytes, int]:
    if at + 4 > len(data):
        raise BadSignature("truncated signature")
    (n,) = struct.unpack(">I", data[at:at + 4])
    if at + 4 + n > len(data):
        raise BadSignature("truncated signature")
    return data[at + 4:at + 4 + n], at + 4 + n


def _ssh_string(b: bytes) -> bytes:
    return struct.pack(">I", len(b)) + b


@dataclass(frozen=True)
class Signature:
    public_key: bytes
    """The signer's public key blob (what allowed_signers lists, base64-decoded)."""
    namespace: str
    hash_alg: str
    sig_alg: str
    sig: bytes
    reserved: bytes = b""

    @property
    def key_type(self) -> str:
        return _string(self.public_key, 0)[0].decode("ascii", "replace")

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public_key)


def fingerprint(blob: bytes) -> str:
    """OpenSSH's SHA256 fingerprint of a public key blob (what `ssh-keygen -l` prints)."""
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def parse(armored: str) -> Signature:
    m = _ARMOR.search(armored or "")
    if not m:
        raise BadSignature("not an SSH signature")
    try:
        raw = base64.b64decode("".join(m.group(1).split()), validate=True)
    except ValueError:
        raise BadSignature("an SSH signature that is not base64") from None
    if raw[:6] != b"SSHSIG":
        raise BadSignature("not an SSHSIG signature")
    (version,) = struct.unpack(">I", raw[6:10])
    if version != 1:
        raise BadSignature(f"SSHSIG version {version} is not known")
    at = 10
    pub, at = _string(raw, at)
    ns, at = _string(raw, at)
    reserved, at = _string(raw, at)
    hash_alg, at = _string(raw, at)
    blob, at = _string(raw, at)
    sig_alg, j = _string(blob, 0)
    sig, _ = _string(blob, j)
    return Signature(pub, ns.decode("utf-8", "replace"), hash_alg.decode("ascii", "replace"),
                     sig_alg.decode("ascii", "replace"), sig, reserved)


def check(sig: Signature, message: bytes, namespace: str) -> None:
    """Raise BadSignature unless `sig` is the signature of `message` by its public key in `namespace`."""
    from cryptography.exceptions import InvalidSignature  # startup: only signing and verify load it
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa, utils
    from cryptography.hazmat.primitives.serialization import load_ssh_public_key

    if sig.namespace != namespace:
        raise BadSignature(f"signed for {sig.namespace!r}, not {namespace!r}")
    digests = {"sha256": hashlib.sha256, "sha512": hashlib.sha512}
    if sig.hash_alg not in digests:
        raise BadSignature(f"hash {sig.hash_alg!r} is not allowed")
    signed = (b"SSHSIG" + _ssh_string(sig.namespace.encode()) + _ssh_string(sig.reserved)
              + _ssh_string(sig.hash_alg.encode()) + _ssh_string(digests[sig.hash_alg](message).digest()))
    key_type = sig.key_type
    if key_type.startswith("sk-"):
        raise BadSignature(f"{key_type} signatures (security keys) are not checked by the cockpit")
    try:
        key = load_ssh_public_key(f"{key_type} {base64.b64encode(sig.public_key).decode()}".encode())
    except (ValueError, TypeError) as e:
        raise BadSignature(f"unreadable public key: {e}") from None
    try:
        if isinstance(key, ed25519.Ed25519PublicKey):
            if sig.sig_alg != "ssh-ed25519":
                raise BadSignature(f"a {sig.sig_alg} signature from an ed25519 key")
            key.verify(sig.sig, signed)
        elif isinstance(key, rsa.RSAPublicKey):
            algs = {"rsa-sha2-512": hashes.SHA512(), "rsa-sha2-256": hashes.SHA256()}
            if sig.sig_alg not in algs:  # ssh-rsa (SHA-1) is refused, as OpenSSH refuses it
                raise BadSignature(f"RSA signature algorithm {sig.sig_alg!r} is not allowed")
            key.verify(sig.sig, signed, padding.PKCS1v15(), algs[sig.sig_alg])
        elif isinstance(key, ec.EllipticCurvePublicKey):
            r, j = _string(sig.sig, 0)
            s, _ = _string(sig.sig, j)
            curve_hash = {256: hashes.SHA256(), 384: hashes.SHA384(), 521: hashes.SHA512()}[key.curve.key_size]
            der = utils.encode_dss_signature(int.from_bytes(r, "big"), int.from_bytes(s, "big"))
            key.verify(der, signed, ec.ECDSA(curve_hash))
        else:
            raise BadSignature(f"{key_type} keys are not supported")
    except InvalidSignature:
        raise BadSignature("the signature is not over this content") from None


# -- allowed_signers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AllowedKey:
    principals: tuple[str, ...]
    """Patterns (ssh's * and ?, a leading ! negates)."""
    key: bytes
    namespaces: tuple[str, ...] | None = None
    valid_after: datetime | None = None
    valid_before: datetime | None = None
    line: int = 0

    def allows(self, principal: str, namespace: str, at: datetime) -> bool:
        if not _matches(principal, self.principals):
            return False
        if self.namespaces is not None and not _matches(namespace, self.namespaces):
            return False
        if self.valid_after is not None and at < self.valid_after:
            return False
        return self.valid_before is None or at < self.valid_before


def _split(text: str, separators: str) -> list[str] | None:
    """Split at separators outside double quotes (quotes kept); None when a quote is not closed."""
    out, word, quoted = [], "", False
    for c in text:
        if c == '"':
            quoted = not quoted
        if c in separators and not quoted:
            if word:
                out.append(word)
            word = ""
        else:
            word += c
    if quoted:
        return None
    return out + ([word] if word else [])


def _matches(name: str, patterns: Iterable[str]) -> bool:
    hit = False
    for p in patterns:
        if p.startswith("!"):
            if fnmatch.fnmatchcase(name, p[1:]):
                return False
        elif fnmatch.fnmatchcase(name, p):
            hit = True
    return hit


def _ssh_time(text: str) -> datetime:
    digits = text.rstrip("Zz")
    fmt = {8: "%Y%m%d", 12: "%Y%m%d%H%M", 14: "%Y%m%d%H%M%S"}.get(len(digits))
    if fmt is None:
        raise ValueError(f"time {text!r} is not YYYYMMDD[HHMM[SS]]")
    return datetime.strptime(digits, fmt).replace(tzinfo=UTC)


@dataclass
class AllowedSigners:
    keys: list[AllowedKey] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Lines that were skipped, and why (a cert-authority line, a key that is not base64...)."""

    @classmethod
    def read(cls, path: Path) -> AllowedSigners:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise SigningError(f"cannot read allowed_signers {path}: {e}") from None
        return cls.parse(text, str(path))

    @classmethod
    def parse(cls, text: str, where: str = "allowed_signers") -> AllowedSigners:
        out = cls()
        for n, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            words = _split(line, " \t")
            if words is None:
                out.problems.append(f"{where}:{n}: an unclosed quote")
                continue
            if len(words) < 3:
                out.problems.append(f"{where}:{n}: expected principals [options] keytype key")
                continue
            principals, rest = words[0], words[1:]
            options: dict[str, str] = {}
            if rest[0] not in _KEY_TYPES:
                for opt in _split(rest[0], ",") or []:
                    name, _, value = opt.partition("=")
                    options[name.lower()] = value.strip('"')
                rest = rest[1:]
            if "cert-authority" in options:
                out.problems.append(f"{where}:{n}: cert-authority lines are not supported by the cockpit; skipped")
                continue
            if len(rest) < 2 or rest[0] not in _KEY_TYPES:
                out.problems.append(f"{where}:{n}: no key type the cockpit knows")
                continue
            try:
                key = base64.b64decode(rest[1], validate=True)
                after = _ssh_time(options["valid-after"]) if "valid-after" in options else None
                before = _ssh_time(options["valid-before"]) if "valid-before" in options else None
            except ValueError as e:
                out.problems.append(f"{where}:{n}: {e}")
                continue
            spaces = options.get("namespaces")
            out.keys.append(AllowedKey(tuple(principals.split(",")), key,
                                       tuple(spaces.split(",")) if spaces is not None else None, after, before, n))
        return out

    def principals_for(self, key: bytes, principals: Iterable[str], namespace: str, at: datetime) -> list[str]:
        """Which of `principals` may sign with `key` in `namespace` at `at`."""
        return [p for p in principals if p and any(k.key == key and k.allows(p, namespace, at) for k in self.keys)]


# -- making a signature -----------------------------------------------------------------------------


def _run(argv: list[str], *, stdin: bytes | None = None, env: dict[str, str] | None = None) -> bytes:
    # No controlling terminal and no askpass: a key with a passphrase fails here, it never prompts over the
    # cockpit's screen (such a key belongs in ssh-agent).
    env = {**(os.environ if env is None else env), "SSH_ASKPASS_REQUIRE": "never"}
    env.pop("SSH_ASKPASS", None)
    try:
        done = subprocess.run(argv, input=stdin, capture_output=True, timeout=SIGN_TIMEOUT_S, env=env,
                              start_new_session=True)
    except FileNotFoundError:
        raise SigningError(f"{argv[0]} is not installed (it comes with OpenSSH's client tools)") from None
    except subprocess.TimeoutExpired:
        raise SigningError(f"{argv[0]} did not answer within {SIGN_TIMEOUT_S}s") from None
    if done.returncode != 0:
        said = done.stderr.decode("utf-8", "replace").strip().splitlines()
        if any("passphrase" in line.lower() for line in said):
            raise SigningError(f"the key file {argv[-1]} needs a passphrase: add it to ssh-agent (ssh-add) instead")
        raise SigningError(f"{argv[0]} {argv[1]} failed: {said[-1] if said else f'exit {done.returncode}'}")
    return done.stdout


def public_key_blob(line: str) -> bytes:
    """The key blob of an OpenSSH public key line (`ssh-ed25519 AAAA… comment`)."""
    parts = line.split()
    if len(parts) < 2 or parts[0] not in _KEY_TYPES:
        raise SigningError(f"not an OpenSSH public key: {line[:40]!r}")
    return base64.b64decode(parts[1])


@dataclass(frozen=True)
class Signer:
    """A key to sign with: a private key file, or a public key whose private half ssh-agent holds."""

    public_key: str
    """The OpenSSH public key line."""
    key_file: Path | None = None
    """A private key file; None: the agent signs."""
    agent_socket: str | None = None

    @property
    def fingerprint(self) -> str:
        return fingerprint(public_key_blob(self.public_key))

    def describe(self) -> str:
        where = f"key file {self.key_file}" if self.key_file else "ssh-agent"
        return f"{self.fingerprint} ({where})"

    def sign(self, message: bytes, namespace: str) -> str:
        """The armored SSHSIG signature of `message` (ssh-keygen -Y sign; the agent signs when it holds the key)."""
        env = dict(os.environ)
        if self.agent_socket:
            env["SSH_AUTH_SOCK"] = self.agent_socket
        if self.key_file is not None:
            return _run(["ssh-keygen", "-Y", "sign", "-q", "-n", namespace, "-f", str(self.key_file)],
                        stdin=message, env=env).decode("ascii")
        # The agent signs in-process (its protocol, sshagent.py): what ssh-keygen -Y sign would ask it.
        blob = public_key_blob(self.public_key)
        sock = env.get("SSH_AUTH_SOCK", "")
        try:
            return armor(blob, namespace, message, lambda data: sshagent.sign(sock, blob, data))
        except sshagent.AgentError as e:
            raise SigningError(str(e)) from None


def armor(public_blob: bytes, namespace: str, message: bytes, sign_data: Callable[[bytes], bytes]) -> str:
    """An SSHSIG signature as ssh-keygen -Y sign writes it; `sign_data` returns the key's signature blob."""
    ns = namespace.encode()
    signed = b"SSHSIG" + _ssh_string(ns) + _ssh_string(b"") + _ssh_string(b"sha512") + \
        _ssh_string(hashlib.sha512(message).digest())
    raw = (b"SSHSIG" + struct.pack(">I", 1) + _ssh_string(public_blob) + _ssh_string(ns) + _ssh_string(b"")
           + _ssh_string(b"sha512") + _ssh_string(sign_data(signed)))
    text = base64.b64encode(raw).decode("ascii")
    lines = "\n".join(text[i:i + 70] for i in range(0, len(text), 70))
    return f"-----BEGIN SSH SIGNATURE-----\n{lines}\n-----END SSH SIGNATURE-----\n"


def find_signer(key: str, base_dir: Path, env: dict[str, str] | None = None) -> Signer:
    """The signer the configuration names: COCKPIT_SIGNING_KEY, else `key` ([signing] key), else the agent's
    first key. A private key file signs by itself; a public key file is signed with by the agent. Raises
    SigningError saying what is missing."""
    env = dict(os.environ if env is None else env)
    named = env.get("COCKPIT_SIGNING_KEY") or key
    sock = env.get("SSH_AUTH_SOCK") or None
    if named:
        path = (base_dir / Path(named).expanduser()).resolve()
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as e:
            raise SigningError(f"cannot read the signing key {path}: {e.strerror or e}") from None
        if "PRIVATE KEY" in text:
            pub_file = path.with_name(path.name + ".pub")
            if pub_file.exists():
                public = pub_file.read_text(encoding="utf-8").strip()
            else:
                public = _run(["ssh-keygen", "-y", "-P", "", "-f", str(path)]).decode().strip()
            return Signer(public, key_file=path)
        public = text.strip()
        public_key_blob(public)
        if not sock:
            raise SigningError(f"{path} is a public key: its private half must be in ssh-agent, and SSH_AUTH_SOCK "
                               "is not set")
        if public_key_blob(public) not in _agent_keys(sock):
            raise SigningError(f"ssh-agent does not hold the private key of {path}: ssh-add it")
        return Signer(public, agent_socket=sock)
    if not sock:
        raise SigningError("no signing key: no ssh-agent (SSH_AUTH_SOCK is not set) and no [signing] key / "
                           "COCKPIT_SIGNING_KEY")
    keys = _agent_keys(sock)
    if not keys:
        raise SigningError("ssh-agent holds no key: ssh-add yours")
    return Signer(next(iter(keys.values())), agent_socket=sock)


def _agent_keys(sock: str) -> dict[bytes, str]:
    """The agent's public keys, blob -> line, in the agent's order (security keys left out: not checked here)."""
    try:
        held = sshagent.keys(sock)
    except sshagent.AgentError as e:
        raise SigningError(str(e)) from None
    lines = {blob: sshagent.public_line(blob, comment) for blob, comment in held}
    return {blob: line for blob, line in lines.items() if line.split()[0] in _KEY_TYPES and
            not line.startswith("sk-")}
