"""A throwaway production-like deployment for tests and benchmarks that need real processes.

Its own database (an SQLite file, or a PostgreSQL server of its own from
scripts/pg_test_server.sh that can be stopped and started again), media and static
folders, production settings (DEBUG off), a small open demo study, and gunicorn on a
free loopback port that can be killed and started again on the same port. Everything
runs in subprocesses, so it never touches the test run's own database, and
:meth:`Deployment.query` reads the deployment's database through ``manage.py shell``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")
HOST = "127.0.0.1"
#: The suite runs against PostgreSQL (make pytest-postgres): deployments get a server too.
SUITE_ON_POSTGRES = os.environ.get("DATABASE_URL", "").startswith(("postgres", "postgresql"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def postgres_available() -> bool:
    return any(Path("/usr/lib/postgresql").glob("*/bin/initdb"))


class Deployment:
    def __init__(self, folder: Path, *, postgres: bool = False, **settings: str) -> None:
        self.folder = folder
        self.postgres = postgres
        # Not under pytest's private temporary folder: the `postgres` user must reach it.
        self.pg_dir = Path(tempfile.mkdtemp(prefix="live-pg-")) / "pg" if postgres else folder
        self.port = free_port()
        self.server: subprocess.Popen[bytes] | None = None
        self.landing = ""  # the participant link's path, once prepared
        if postgres:
            self.pg_dir.parent.chmod(0o755)  # as root the cluster belongs to `postgres`
        self.env = {
            **os.environ,
            "APP_VAR_DIR": str(folder),
            "DJANGO_MEDIA_ROOT": str(folder / "media"),
            "DJANGO_STATIC_ROOT": str(folder / "static"),
            "TASKS_BACKEND": "django_tasks.backends.dummy.DummyBackend",
            "DJANGO_DEBUG": "0",
            "DJANGO_SECRET_KEY": "live-deployment-" + uuid.uuid4().hex * 2,
            "DJANGO_ALLOWED_HOSTS": HOST,
            "DJANGO_SECURE_SSL_REDIRECT": "0",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "LOG_LEVEL": "WARNING",
            "DATABASE_URL": f"sqlite:///{folder / 'db.sqlite3'}",
            **settings,
        }
        self.env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)  # the browser tests' setting only

    # -- database --------------------------------------------------------------------------

    def _pg(self, command: str) -> str:
        done = subprocess.run(
            ["bash", "scripts/pg_test_server.sh", command, str(self.pg_dir)],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"pg_test_server.sh {command}: {done.stderr.strip()}")
        return done.stdout

    def prepare(self, *, tracks: int = 5, seconds: float = 12, screening: bool = True) -> str:
        """Create the database and the demo study; return the participant landing path."""
        if self.postgres:
            self.env["DATABASE_URL"] = self._pg("start").strip().splitlines()[-1]
        self.manage("migrate", "--verbosity", "0")
        self.manage("collectstatic", "--noinput", "--verbosity", "0")
        self.manage(
            "make_demo_study", "--tracks", str(tracks), "--seconds", str(seconds),
            "--simulate", "0", "--folder", str(self.folder / "demo"),
            "--password", "live-deployment", "--verbosity", "0",
        )  # fmt: skip
        code = (
            "from listening.models import Study\n"
            "study = Study.objects.get(is_demo=True)\n"
            + (
                ""
                if screening
                else "Study.objects.filter(pk=study.pk).update(screening={'tests': []})\n"
            )
            + "result = study.participant_path()\n"
        )
        self.landing = str(self.query(code))
        return self.landing

    def pause_database(self) -> None:
        """Stop the PostgreSQL server at once, as a crash would (connections are cut)."""
        self._pg("pause")

    def resume_database(self) -> None:
        self._pg("resume")

    def manage(self, *args: str) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(args)}: {done.stderr[-2000:]}")
        return done.stdout

    def query(self, code: str) -> Any:
        """Run ``code`` with Django set up on this deployment; return its ``result`` (JSON)."""
        script = f"{code}\nimport json as _j\nprint('RESULT=' + _j.dumps(result))\n"
        out = self.manage("shell", "--no-imports", "-c", script)
        line = next(x for x in out.splitlines() if x.startswith("RESULT="))
        return json.loads(line.removeprefix("RESULT="))

    # -- the application server -----------------------------------------------------------

    def start_server(
        self, *, workers: int = 2, threads: int = 2, connections: int = 1000, log: str = ""
    ) -> None:
        """Start gunicorn (gthread); ``log``: an access log with each request's time and worker."""
        command = [
            str(GUNICORN), "config.wsgi:application", "--bind", f"{HOST}:{self.port}",
            "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread",
            "--worker-connections", str(connections),
            "--timeout", "60", "--keep-alive", "75", "--log-level", "warning",
        ]  # fmt: skip
        if log:
            command += [
                "--access-logfile",
                log,
                "--access-logformat",
                'server_us=%(D)s pid=%(p)s "%(r)s" %(s)s',
            ]
        self.server = subprocess.Popen(
            command,
            cwd=REPO,
            env=self.env,
            stdout=(self.folder / "gunicorn.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise RuntimeError(
                    "gunicorn exited: " + (self.folder / "gunicorn.log").read_text()[-2000:]
                )
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("gunicorn did not start within 60 s")

    def kill_server(self) -> None:
        """SIGKILL gunicorn and its workers: requests in flight die with them."""
        if self.server is not None and self.server.poll() is None:
            os.killpg(self.server.pid, signal.SIGKILL)
            self.server.wait(10)
        self._wait_for_group_to_exit()

    def _wait_for_group_to_exit(self) -> None:
        """Workers outlive the master for a moment, still holding the listening socket:
        a new server must not be taken as up while they do."""
        if self.server is None:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(self.server.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.02)

    def stop_server(self) -> None:
        if self.server is not None and self.server.poll() is None:
            os.killpg(self.server.pid, signal.SIGTERM)
            try:
                self.server.wait(20)
            except subprocess.TimeoutExpired:
                self.kill_server()
            self._wait_for_group_to_exit()

    def close(self) -> None:
        self.stop_server()
        if self.postgres:
            subprocess.run(
                ["bash", "scripts/pg_test_server.sh", "stop", str(self.pg_dir)],
                cwd=REPO,
                env=self.env,
                capture_output=True,
            )
            shutil.rmtree(self.pg_dir.parent, ignore_errors=True)
