"""The project as a user meets it: production checks, the one-command server, SQLite mode."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(extra)
    return env


def test_check_deploy_is_clean_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_env(DJANGO_HTTPS="1", DJANGO_SECRET_KEY=secrets.token_urlsafe(60), DJANGO_DEBUG="0"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_debug_is_off_unless_asked_for():
    from django.conf import settings

    assert settings.DEBUG is False


@pytest.mark.django_db
def test_sqlite_runs_in_wal_mode_with_a_busy_timeout():
    if connection.vendor != "sqlite":
        pytest.skip("the embedded SQLite mode is tested on the SQLite run")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] >= 5000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str) -> tuple[int, str, dict[str, str]]:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=10) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(), dict(exc.headers)


@contextlib.contextmanager
def _serving(tmp_path, **extra_env: str):
    """Run `manage.py serve` on a free port against a freshly migrated SQLite file."""
    port = _free_port()
    env = _env(
        DATABASE_URL=f"sqlite:///{tmp_path / 'serve.sqlite3'}", QUEUE_CONNECTION="db", **extra_env
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=180
    )
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"serve exited early:\n{proc.stdout.read()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        raise AssertionError("serve did not listen within 60 s")
    try:
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def served(tmp_path):
    with _serving(tmp_path) as port:
        yield f"http://127.0.0.1:{port}"


def test_serve_answers_the_sign_in_page_static_files_and_the_api(served):
    status, body, headers = _get(f"{served}/dashboard/bulks/")
    assert status == 302 and "/accounts/login/" in headers["Location"]

    status, body, _ = _get(f"{served}/accounts/login/")
    assert status == 200
    assert "Sign in" in body and 'name="password"' in body

    status, body, headers = _get(f"{served}/static/dashboard/dashboard.css")
    assert status == 200 and "--accent" in body

    status, body, headers = _get(f"{served}/rest/V1/no-such-route")
    assert status == 404
    assert headers["Content-Type"].startswith("application/json")
    assert '"message"' in body


def test_serve_stops_cleanly_on_sigterm(tmp_path):
    port = _free_port()
    env = _env(DATABASE_URL=f"sqlite:///{tmp_path / 'stop.sqlite3'}")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=180
    )
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    assert proc.wait(timeout=30) == 0


def _settings_in_subprocess(expression: str, **env: str) -> subprocess.CompletedProcess:
    code = f"import django; django.setup(); from django.conf import settings; print({expression})"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(DJANGO_SETTINGS_MODULE="config.settings", **env),
    )


def test_runner_processes_per_consumer_come_from_the_environment():
    result = _settings_in_subprocess(
        "__import__('queues.conf').conf.queue_settings.RUNNER_MULTIPLE_PROCESSES",
        QUEUE_RUNNER_MULTIPLE_PROCESSES="async.operations.all=4, other=1",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "{'async.operations.all': 4, 'other': 1}"


def test_a_malformed_setting_in_the_environment_is_a_clear_error():
    result = _settings_in_subprocess("1", QUEUE_DB_POLL_INTERVAL="soon")
    assert result.returncode != 0
    assert "QUEUE_DB_POLL_INTERVAL must be a number, got 'soon'" in result.stderr


def test_a_rest_body_over_the_limit_gets_magentos_413_from_the_real_server(tmp_path):
    # daphne receives a whole body before the application sees it: a proxy in front
    # (client_max_body_size) is what stops a huge upload early; this is the answer.
    with _serving(tmp_path, WEBAPI_MAX_BODY_SIZE="1000") as port:
        subprocess.run(
            [
                sys.executable,
                "manage.py",
                "createsuperuser",
                "--no-input",
                "--username",
                "admin",
                "--email",
                "admin@example.com",
            ],
            cwd=ROOT,
            check=True,
            timeout=60,
            capture_output=True,
            env=_env(
                DATABASE_URL=f"sqlite:///{tmp_path / 'serve.sqlite3'}",
                DJANGO_SUPERUSER_PASSWORD="Serve-pass-123",
            ),
        )
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request(
            "POST",
            "/rest/V1/integration/admin/token",
            body=json.dumps({"username": "admin", "password": "Serve-pass-123"}),
            headers={"Content-Type": "application/json"},
        )
        token = json.loads(conn.getresponse().read())
        for path, body in (
            ("/rest/V1/products", b'{"product": {"sku": "' + b"x" * 2000 + b'"}}'),
            ("/rest/all/async/bulk/V1/products", b"[" + b" " * 2000 + b"]"),
        ):
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request(
                "POST",
                path,
                body=body,
                headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
            )
            answer = conn.getresponse()
            assert answer.status == 413
            assert json.loads(answer.read()) == {
                "message": "The request body is larger than the limit of %1 bytes.",
                "parameters": [1000],
            }


def test_the_channel_layer_carries_messages_between_processes_through_redis(redis_url, settings):
    """With REDIS_URL set, websocket events reach every server process through Redis."""
    from asgiref.sync import async_to_sync
    from channels.layers import get_channel_layer
    from channels_redis.core import RedisChannelLayer

    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [redis_url]},
        }
    }
    layer = get_channel_layer()
    assert isinstance(layer, RedisChannelLayer)

    async def round_trip() -> dict:
        channel = await layer.new_channel()
        group = f"test-{secrets.token_hex(4)}"
        await layer.group_add(group, channel)
        await layer.group_send(group, {"type": "bulk.progress", "bulk": "b1"})
        message = await layer.receive(channel)
        await layer.group_discard(group, channel)
        return message

    assert async_to_sync(round_trip)() == {"type": "bulk.progress", "bulk": "b1"}


def _readme_variables() -> dict[str, str]:
    """Return {variable: its default cell} from the README's configuration tables."""
    rows = re.findall(
        r"^\| `([A-Z][A-Z0-9_]+)` \| ([^|]*) \|", (ROOT / "README.md").read_text(), re.M
    )
    return {name: cell.strip() for name, cell in rows}


def _documented_default(value) -> str | None:
    """Return how the README shows a default as a literal, or None if it describes it in words."""
    if value is None or value in ("", [], {}):
        return None
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return ",".join(value)
    return str(value)


def test_the_readme_lists_exactly_the_variables_settings_reads_with_their_defaults():
    from config.environment import VARIABLES
    from dashboard.conf import dashboard_settings
    from imports.conf import imports_settings
    from operations.conf import operations_settings
    from queues.conf import queue_settings
    from store.conf import store_settings
    from webapi.conf import webapi_settings

    app_settings = {
        s.name: s
        for s in (
            queue_settings,
            operations_settings,
            webapi_settings,
            dashboard_settings,
            store_settings,
            imports_settings,
        )
    }
    documented = _readme_variables()
    assert sorted(documented) == sorted(VARIABLES)
    for name, variable in VARIABLES.items():
        default = (
            app_settings[variable.setting].defaults[variable.key]
            if variable.setting
            else variable.default
        )
        literal = _documented_default(default)
        cell = documented[name]
        if literal is None:
            assert not cell.startswith("`"), (
                f"{name}: the README shows {cell}, the code has no literal default"
            )
        else:
            assert cell.startswith(f"`{literal}`"), (
                f"{name}: the README shows {cell}, the code's default is {literal}"
            )
