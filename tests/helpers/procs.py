"""Processes as the tests look at them."""

from __future__ import annotations

from pathlib import Path


def alive(pid: int) -> bool:
    """Running (a killed child nobody reaped yet is a zombie: dead, but kill(pid, 0) still succeeds)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
