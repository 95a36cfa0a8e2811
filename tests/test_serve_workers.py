"""`manage.py serve --workers N`: several daphne processes on one listening socket.

A real `serve --workers 2` in a subprocess on a free port, with Redis as the channel
layer, on a database of its own (a fresh PostgreSQL database when the tests run on
PostgreSQL, else a SQLite file), the db transport and the embedded consumers. Which
process answers a connection is read from the operating system (/proc: which
worker holds the server side of the client's socket), not from the server.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.fixtures.browser import ROOT, _free_port

pytestmark = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")

PASSWORD = "Workers-pass-1"


# -- the operating system's view -------------------------------------------------------------


def children(pid: int) -> list[int]:
    """The pids whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return sorted(found)


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def holder(server_port: int, client_port: int, pids: list[int]) -> int | None:
    """The pid among `pids` holding the server side of the connection from `client_port`."""
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, remote = fields[1], fields[2]
            if (
                int(local.rsplit(":", 1)[1], 16) == server_port
                and int(remote.rsplit(":", 1)[1], 16) == client_port
            ):
                inode = fields[9]
    if inode is None:
        return None
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) == f"socket:[{inode}]":
                        return pid
    return None


# -- the site ---------------------------------------------------------------------------------


@dataclass
class Site:
    port: int
    env: dict[str, str]
    process: subprocess.Popen
    log: Path

    def workers(self) -> list[int]:
        return children(self.process.pid)

    def log_text(self) -> str:
        return self.log.read_text()

    def manage(self, *args: str) -> str:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=240,
            check=True,
        ).stdout

    def connect(self) -> http.client.HTTPConnection:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.connect()
        return conn

    def get(self, conn: http.client.HTTPConnection, path: str = "/accounts/login/") -> int:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status

    def served_by(self, conn: http.client.HTTPConnection | socket.socket) -> int | None:
        sock = conn.sock if isinstance(conn, http.client.HTTPConnection) else conn
        return holder(self.port, sock.getsockname()[1], self.workers())

    def serving_lines(self) -> list[str]:
        return [line for line in self.log_text().splitlines() if " serving on " in line]

    def consumer_worker(self) -> int:
        """The pid of the (latest) worker running the embedded consumers."""
        pids = [
            int(match.group(1))
            for line in self.serving_lines()
            if (match := re.match(r"Worker (\d+) serving on .*\(consumers: embedded\)", line))
        ]
        return pids[-1]


def start(env: dict[str, str], log: Path, *extra: str) -> Site:
    """Start `serve --workers 2` and wait until both workers serve."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port), "--workers", "2", *extra],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    site = Site(port, env, process, log)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited early:\n{site.log_text()}")
        if len(site.serving_lines()) >= 2 and len(site.workers()) == 2:
            return site
        time.sleep(0.2)
    stop(site)
    raise AssertionError(f"two workers did not start within 90 s:\n{site.log_text()}")


def stop(site: Site) -> None:
    if site.process.poll() is None:
        site.process.terminate()
        try:
            site.process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            site.process.kill()
            site.process.wait()


@contextlib.contextmanager
def database(tmp: Path, worker_id: str) -> Iterator[str]:
    """A database of the site's own: fresh PostgreSQL on PostgreSQL, else a SQLite file."""
    if connection.vendor != "postgresql":
        yield f"sqlite:///{tmp / 'workers.sqlite3'}"
        return
    import psycopg

    admin = settings.DATABASES["default"]
    server = {
        "host": admin.get("HOST") or "127.0.0.1",
        "port": admin.get("PORT") or 5432,
        "user": admin.get("USER", ""),
        "password": admin.get("PASSWORD", ""),
    }
    name = f"asyncbulk_workers_{worker_id}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(dbname="postgres", autocommit=True, **server) as pg:
        pg.execute(f'CREATE DATABASE "{name}"')
    try:
        yield (
            f"postgres://{server['user']}:{server['password']}@{server['host']}:{server['port']}"
            f"/{name}"
        )
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **server) as pg:
            pg.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def site_env(tmp_path_factory, worker_id, redis_url) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("serve-workers")
    with database(tmp, worker_id) as url:
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "REDIS_URL": redis_url,
            "QUEUE_CONNECTION": "db",
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            # Hubs learn of changes only through Redis: no polling to make up for it.
            "DASHBOARD_POLL_INTERVAL": "3600",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("SERVE_WORKERS", None)
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=240,
        )
        yield env


@pytest.fixture(scope="module")
def site(site_env, tmp_path_factory) -> Iterator[Site]:
    running = start(site_env, tmp_path_factory.mktemp("serve-workers-log") / "serve.log")
    try:
        yield running
    finally:
        stop(running)


# -- the tests --------------------------------------------------------------------------------


def test_requests_are_answered_by_both_worker_processes(site):
    workers = site.workers()
    assert len(workers) == 2 and site.process.pid not in workers
    connections = [site.connect() for _ in range(8)]
    try:
        assert [site.get(conn) for conn in connections] == [200] * 8
        served = [site.served_by(conn) for conn in connections]
    finally:
        for conn in connections:
            conn.close()
    assert set(served) == set(workers), f"connections held by {served}, workers {workers}"
    # Each takes its share of keep-alive connections, not whichever wakes first (which
    # took all 8 before the workers balanced them; 4/4 when the machine is not starved).
    assert min(served.count(pid) for pid in workers) >= 2, served
    # The first worker runs the embedded consumers, the other does not.
    lines = site.serving_lines()
    assert sum("(consumers: embedded)" in line for line in lines) == 1
    assert sum("(consumers: off)" in line for line in lines) == 1


def _session(site: Site, name: str) -> str:
    """A signed-in staff user's session key on the site."""
    code = (
        "from django.contrib.auth import get_user_model, SESSION_KEY, BACKEND_SESSION_KEY,"
        " HASH_SESSION_KEY\n"
        "from django.contrib.sessions.backends.db import SessionStore\n"
        f"u = get_user_model().objects.create_superuser({name!r}, '', {PASSWORD!r})\n"
        "s = SessionStore()\n"
        "s[SESSION_KEY] = str(u.pk)\n"
        "s[BACKEND_SESSION_KEY] = 'webapi.signin.ThrottledModelBackend'\n"
        "s[HASH_SESSION_KEY] = u.get_session_auth_hash()\n"
        "s.create()\n"
        "print(s.session_key)\n"
    )
    return site.manage("shell", "-c", code).strip().splitlines()[-1]


class Websocket:
    """A minimal websocket client (RFC 6455) on a raw socket: enough for the dashboard."""

    def __init__(self, port: int, path: str, headers: dict[str, str]) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: 127.0.0.1:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
            *(f"{name}: {value}" for name, value in headers.items()),
        ]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self.buffer += self._recv()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        assert head.startswith(b"HTTP/1.1 101"), head.decode(errors="replace")

    def _recv(self) -> bytes:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the websocket")
        return chunk

    def _take(self, n: int) -> bytes:
        while len(self.buffer) < n:
            self.buffer += self._recv()
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def send(self, text: str) -> None:
        payload = text.encode()
        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x81, 0x80 | length)
        else:
            header = struct.pack("!BBH", 0x81, 0x80 | 126, length)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def receive(self, seconds: float) -> list[str]:
        """The text messages received within `seconds`."""
        messages: list[str] = []
        deadline = time.monotonic() + seconds
        parts: list[bytes] = []
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                first, second = self._take(2)
            except TimeoutError:
                break
            self.sock.settimeout(10)
            length = second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", self._take(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", self._take(8))
            payload = self._take(length)
            opcode = first & 0x0F
            if opcode in (0x1, 0x0):
                parts.append(payload)
                if first & 0x80:
                    messages.append(b"".join(parts).decode())
                    parts = []
            elif opcode == 0x8:
                raise ConnectionError(f"closed by the server: {payload[:2].hex()}")
        return messages

    def close(self) -> None:
        self.sock.close()


def test_a_dashboard_websocket_hears_of_a_change_made_in_the_other_worker(site):
    session = _session(site, "ws-operator")
    code = (
        "from webapi.actions import issue_admin_token\n"
        f"print(issue_admin_token('ws-operator', {PASSWORD!r}))"
    )
    token = site.manage("shell", "-c", code).splitlines()[-1]
    headers = {
        "Origin": f"http://127.0.0.1:{site.port}",
        "Cookie": f"{settings.SESSION_COOKIE_NAME}={session}",
    }
    consumer_worker = site.consumer_worker()
    sockets = []
    page = None
    try:
        # A page whose socket the worker without the consumers holds.
        for _ in range(6):
            ws = Websocket(site.port, "/ws/dashboard/", headers)
            sockets.append(ws)
            if site.served_by(ws.sock) not in (None, consumer_worker):
                page = ws
                break
        assert page is not None, "no websocket landed on the worker without the consumers"
        page.send(json.dumps({"watch": {"page": "bulks", "top": True, "fresh": True}}))
        page.receive(0.5)  # the hub takes the watch

        # The bulk is accepted by the other worker, whose consumer also runs it.
        api = None
        others = []  # kept open: the worker holding them leaves the next one to the other
        for _ in range(6):
            conn = site.connect()
            assert site.get(conn) == 200  # answered: accepted by a worker
            if site.served_by(conn) == consumer_worker:
                api = conn
                break
            others.append(conn)
        for conn in others:
            conn.close()
        assert api is not None, "no connection landed on the worker with the consumers"
        body = [
            {
                "product": {
                    "sku": f"WS-{n}",
                    "name": f"Websocket product {n}",
                    "attribute_set_id": 4,
                    "price": 10,
                    "type_id": "simple",
                }
            }
            for n in range(2)
        ]
        api.request(
            "POST",
            "/rest/all/async/bulk/V1/products",
            body=json.dumps(body),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        response = api.getresponse()
        answer = json.loads(response.read())
        api.close()
        assert response.status == 202, answer
        html = "".join(page.receive(5))
    finally:
        for ws in sockets:
            ws.close()
    assert f'data-bulk-uuid="{answer["bulk_uuid"]}"' in html, html[:2000]


def test_a_killed_worker_is_replaced_and_requests_are_served_meanwhile(site):
    before = site.workers()
    assert len(before) == 2
    consumer_worker = site.consumer_worker()
    os.kill(consumer_worker, signal.SIGKILL)
    statuses = []
    for _ in range(10):  # the other worker answers at once
        conn = site.connect()
        statuses.append(site.get(conn))
        conn.close()
    assert statuses == [200] * 10
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        now = site.workers()
        if len(now) == 2 and consumer_worker not in now and len(site.serving_lines()) >= 3:
            break
        time.sleep(0.2)
    else:
        raise AssertionError(f"the worker was not replaced:\n{site.log_text()}")
    replacement = (set(now) - set(before)).pop()
    log = site.log_text()
    assert f"(pid {consumer_worker}) exited with signal 9" in log
    # The replacement took the first worker's place: it runs the consumers.
    assert f"Worker {replacement} serving on" in log
    assert any(
        f"Worker {replacement} serving on" in line and "(consumers: embedded)" in line
        for line in site.serving_lines()
    )
    connections = [site.connect() for _ in range(4)]
    try:
        assert [site.get(conn) for conn in connections] == [200] * 4
        assert replacement in {site.served_by(conn) for conn in connections}
    finally:
        for conn in connections:
            conn.close()


def test_sigterm_to_the_parent_stops_every_worker(site_env, tmp_path):
    site = start(site_env, tmp_path / "serve.log", "--no-consumers")
    try:
        workers = site.workers()
        conn = site.connect()
        assert site.get(conn) == 200
        conn.close()
        site.process.send_signal(signal.SIGTERM)
        assert site.process.wait(timeout=40) == 0
        assert not any(alive(pid) for pid in workers)
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", site.port), timeout=2)
    finally:
        stop(site)


def test_workers_stop_when_their_parent_is_killed(site_env, tmp_path):
    site = start(site_env, tmp_path / "serve.log", "--no-consumers")
    workers = site.workers()
    try:
        site.process.kill()
        site.process.wait(timeout=10)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(alive(pid) for pid in workers):
            time.sleep(0.2)
        assert not any(alive(pid) for pid in workers), site.log_text()
    finally:
        for pid in workers:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def test_more_than_one_worker_without_redis_is_refused(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'refused.sqlite3'}",
        "QUEUE_CONNECTION": "db",
    }
    env.pop("REDIS_URL", None)
    result = subprocess.run(
        [sys.executable, "manage.py", "serve", "--workers", "2", "--port", str(_free_port())],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "--workers 2 needs the Redis channel layer: set REDIS_URL" in result.stderr
    # SERVE_WORKERS is the default of --workers.
    result = subprocess.run(
        [sys.executable, "manage.py", "serve", "--port", str(_free_port())],
        cwd=ROOT,
        env={**env, "SERVE_WORKERS": "3"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert "--workers 3 needs the Redis channel layer" in result.stderr
