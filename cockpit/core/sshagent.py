"""Talking to ssh-agent directly (its protocol, draft-miller-ssh-agent): list its keys, have it sign.

A signature from the agent costs a round trip on a local socket instead of starting ssh-keygen (which
asks the same agent): what `ssh-keygen -Y sign` would write, byte for byte in format, and checked by
`ssh-keygen -Y verify` in the tests. The private key never leaves the agent.
"""

from __future__ import annotations

import base64
import socket
import struct

REQUEST_IDENTITIES, IDENTITIES_ANSWER = 11, 12
SIGN_REQUEST, SIGN_RESPONSE = 13, 14
FAILURE = 5
RSA_SHA2_512 = 4
TIMEOUT_S = 30


class AgentError(Exception):
    """The agent cannot be reached, or refused (a key it does not hold, a confirmation declined)."""


def _string(b: bytes) -> bytes:
    return struct.pack(">I", len(b)) + b


def _read_string(data: bytes, at: int) -> tuple[bytes, int]:
    (n,) = struct.unpack(">I", data[at:at + 4])
    return data[at + 4:at + 4 + n], at + 4 + n


def _ask(sock_path: str, message: bytes) -> bytes:
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(TIMEOUT_S)
            s.connect(sock_path)
            s.sendall(_string(message))
            head = _recv(s, 4)
            (n,) = struct.unpack(">I", head)
            return _recv(s, n)
    except OSError as e:
        raise AgentError(f"ssh-agent at {sock_path} cannot be reached: {e.strerror or e}") from None


def _recv(s: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        if not chunk:
            raise AgentError("ssh-agent closed the connection")
        out += chunk
    return out


def keys(sock_path: str) -> list[tuple[bytes, str]]:
    """(public key blob, comment) of every key the agent holds, in its order."""
    answer = _ask(sock_path, bytes([REQUEST_IDENTITIES]))
    if not answer or answer[0] != IDENTITIES_ANSWER:
        raise AgentError("ssh-agent did not list its keys")
    (count,) = struct.unpack(">I", answer[1:5])
    out, at = [], 5
    for _ in range(count):
        blob, at = _read_string(answer, at)
        comment, at = _read_string(answer, at)
        out.append((blob, comment.decode("utf-8", "replace")))
    return out


def public_line(blob: bytes, comment: str = "") -> str:
    kind, _ = _read_string(blob, 0)
    return f"{kind.decode('ascii')} {base64.b64encode(blob).decode()}" + (f" {comment}" if comment else "")


def sign(sock_path: str, key_blob: bytes, data: bytes) -> bytes:
    """The agent's signature blob (string algorithm, string signature) over `data`; RSA keys sign with SHA-512."""
    kind, _ = _read_string(key_blob, 0)
    flags = RSA_SHA2_512 if kind == b"ssh-rsa" else 0
    answer = _ask(sock_path, bytes([SIGN_REQUEST]) + _string(key_blob) + _string(data) + struct.pack(">I", flags))
    if not answer or answer[0] != SIGN_RESPONSE:
        raise AgentError("ssh-agent refused to sign (it does not hold that key, or its confirmation was declined)")
    blob, _ = _read_string(answer, 1)
    return blob
