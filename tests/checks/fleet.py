"""A fleet of loopback HTTP endpoints in child processes, fast enough for thousands of checks.

    with Fleet(ports=2, delay=0.05) as fleet:
        fleet.url(0, "/health")            # 200 {"status": "ok"} after 50 ms
        fleet.url(1, "/hang")              # reads the request, never answers
        fleet.stats()                      # peak requests in flight, open connections, per port

Paths: anything answers 200 JSON after the delay; `/status/503` answers that status;
`/redirect?to=URL` answers 302 to URL, and so do the paths given as `redirects` (path: URL, where
`{port0}`, `{port1}`... name the fleet's ports); `/hang` never answers; `?delay_ms=N` overrides
the delay; `/stats` answers at once with what the process saw (only meaningful with one process).

Each process is an asyncio server on raw protocols (no per-request task), listening on every
port; with `procs` > 1 the processes share the ports through SO_REUSEPORT and the kernel spreads
connections over them. The endpoints live outside the test's process so they never share its GIL
with the client being measured. Run as a module it is the child: `python -m tests.checks.fleet`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

ROOT = Path(__file__).resolve().parents[2]
BODY = b'{"status": "ok", "db": {"ok": true}}'


class Fleet:
    def __init__(self, ports: int = 1, delay: float = 0.05, procs: int = 1, redirects: dict[str, str] | None = None):
        self.n_ports, self.delay, self.procs = ports, delay, procs
        self.redirects = redirects or {}
        self.ports: list[int] = []
        self._child: subprocess.Popen[str] | None = None

    def __enter__(self) -> Fleet:
        self._child = subprocess.Popen(
            [sys.executable, "-m", "tests.checks.fleet", "--ports", str(self.n_ports), "--delay", str(self.delay),
             "--procs", str(self.procs), "--redirects", json.dumps(self.redirects)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
        )
        assert self._child.stdout is not None
        line = self._child.stdout.readline()
        if not line:
            self.__exit__()
            raise RuntimeError("the loopback fleet did not start")
        self.ports = json.loads(line)
        return self

    def __exit__(self, *exc: object) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        assert child.stdin is not None
        child.stdin.close()  # the fleet stops when its stdin closes
        try:
            child.wait(timeout=5)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()

    def url(self, port_index: int, path: str = "/health") -> str:
        return f"http://127.0.0.1:{self.ports[port_index]}{path}"

    def stats(self, via: int = 0) -> dict[str, Any]:
        """What the server saw; asked through port `via` (its own connection counts there)."""
        import urllib.request

        with urllib.request.urlopen(self.url(via, "/stats"), timeout=5) as r:  # noqa: S310 - loopback
            return json.loads(r.read())


# -- the child -----------------------------------------------------------------------------


class _Stats:
    def __init__(self) -> None:
        self.in_flight = 0
        self.peak = 0
        self.per_port: dict[int, int] = {}
        self.peak_per_port: dict[int, int] = {}
        self.served = 0
        self.open_per_port: dict[int, int] = {}

    def opened(self, port: int, change: int) -> None:
        self.open_per_port[port] = self.open_per_port.get(port, 0) + change

    def begin(self, port: int) -> None:
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        n = self.per_port[port] = self.per_port.get(port, 0) + 1
        self.peak_per_port[port] = max(self.peak_per_port.get(port, 0), n)

    def end(self, port: int) -> None:
        self.in_flight -= 1
        self.per_port[port] -= 1
        self.served += 1

    def as_json(self) -> bytes:
        return json.dumps({"peak_in_flight": self.peak, "in_flight": self.in_flight, "served": self.served,
                           "peak_per_port": {str(k): v for k, v in self.peak_per_port.items()},
                           "open_per_port": {str(k): v for k, v in self.open_per_port.items()}}).encode()


def _response(status: int, body: bytes, extra: bytes = b"") -> bytes:
    return (b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s"
            % (status, len(body), extra, body))


_OK = _response(200, BODY)


class _Http(asyncio.Protocol):
    def __init__(self, port: int, delay: float, stats: _Stats, redirects: dict[str, str]):
        self.port, self.delay, self.stats, self.redirects = port, delay, stats, redirects
        self.buf = b""
        self.transport: asyncio.Transport | None = None
        self.loop = asyncio.get_running_loop()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.stats.opened(self.port, +1)

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.stats.opened(self.port, -1)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while (end := self.buf.find(b"\r\n\r\n")) >= 0:
            head, self.buf = self.buf[:end], self.buf[end + 4:]
            length = 0
            for line in head.split(b"\r\n")[1:]:
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            self.buf = self.buf[length:]  # request bodies are not looked at
            self._answer(head.split(b" ", 2)[1].decode("latin-1"))

    def _answer(self, target: str) -> None:
        path, _, query = target.partition("?")
        if path == "/stats":
            self._send(_response(200, self.stats.as_json()))
            return
        self.stats.begin(self.port)
        if path == "/hang":
            return  # counted in flight for good: it never ends
        args = parse_qs(query) if query else {}
        delay = int(args["delay_ms"][0]) / 1000 if "delay_ms" in args else self.delay
        if path.startswith("/status/"):
            out = _response(int(path[8:]), b'{"status": "down"}')
        elif path == "/redirect" or path in self.redirects:
            to = self.redirects.get(path) or unquote(args["to"][0])
            out = _response(302, b"", b"Location: %s\r\n" % to.encode())
        else:
            out = _OK
        self.loop.call_later(delay, self._finish, out)

    def _finish(self, out: bytes) -> None:
        self.stats.end(self.port)
        self._send(out)

    def _send(self, out: bytes) -> None:
        if self.transport is not None:
            self.transport.write(out)


def _listener(port: int) -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    s.bind(("127.0.0.1", port))
    s.listen(4096)
    s.setblocking(False)
    return s


async def _serve(socks: list[socket.socket], delay: float, announce: bool, redirects: dict[str, str]) -> None:
    loop = asyncio.get_running_loop()
    stats = _Stats()
    ports = {f"port{i}": s.getsockname()[1] for i, s in enumerate(socks)}
    redirects = {path: to.format(**ports) for path, to in redirects.items()}
    for s in socks:
        port = s.getsockname()[1]
        await loop.create_server(lambda port=port: _Http(port, delay, stats, redirects), sock=s, backlog=4096)
    if announce:
        print(json.dumps([s.getsockname()[1] for s in socks]), flush=True)
    await loop.run_in_executor(None, sys.stdin.read)  # until the parent closes stdin


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--ports", type=int, default=1)
    ap.add_argument("--delay", type=float, default=0.05)
    ap.add_argument("--procs", type=int, default=1)
    ap.add_argument("--redirects", default="{}")
    ap.add_argument("--bind", help="comma-separated ports to share (a worker of the fleet)")
    a = ap.parse_args()
    redirects = json.loads(a.redirects)
    if a.bind:
        socks = [_listener(int(p)) for p in a.bind.split(",")]
        print("ready", flush=True)
        asyncio.run(_serve(socks, a.delay, announce=False, redirects=redirects))
        return
    # Bind here first (port 0 picks free ports), then start workers that share them.
    socks = [_listener(0) for _ in range(a.ports)]
    ports = [s.getsockname()[1] for s in socks]
    workers = []
    for _ in range(a.procs - 1):
        w = subprocess.Popen([sys.executable, "-m", "tests.checks.fleet", "--bind", ",".join(map(str, ports)),
                              "--delay", str(a.delay), "--redirects", a.redirects], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert w.stdout is not None
        w.stdout.readline()
        workers.append(w)
    try:
        asyncio.run(_serve(socks, a.delay, announce=True, redirects=redirects))
    finally:
        for w in workers:
            assert w.stdin is not None
            w.stdin.close()
            w.wait(timeout=5)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    main()
