"""The runbook's [signing] table: who may sign decisions, with which key, and where signatures are required.

    [signing]
    allowed_signers = ".deploy/allowed_signers"   # git's format: principal(s) [options] keytype key
    key = ""                                      # empty: the ssh-agent's first key
    required = ["production"]

Without a [signing] table nothing is signed (there would be no trusted keys to check signatures against).
"""

from __future__ import annotations


from pydantic import BaseModel, ConfigDict

from cockpit.runbook.methods import SigningMethods


class SigningConfig(SigningMethods, BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)

    allowed_signers: str
    """The trusted keys, in git's allowed_signers format (principals [options] keytype key), relative to the
    runbook: the file a team already keeps for git's SSH commit signing. A principal is a person's name as
    they act in the cockpit (--as / COCKPIT_ACTOR) or their git e-mail."""
    key: str = ""
    """The signing key: a private key file, or a public key file whose private half is in ssh-agent; relative
    to the runbook. Empty: the first key ssh-agent offers (SSH_AUTH_SOCK). COCKPIT_SIGNING_KEY overrides it."""
    required: list[str] = []
    """Environments where sign-offs, GO / NO-GO, forced unlocks and break-glass flips must be signed, e.g.
    ["production"]: without a key they are refused, and `log verify` names any such entry left unsigned."""
