"""A throwaway PostgreSQL server for the tests: its own cluster in a temporary folder.

Started once per test run from the Debian server package's binaries (``make
test`` installs them; see tools/test_services.sh). It listens only on a Unix
socket inside its folder, so it never meets another PostgreSQL on the machine,
and is removed at the end. As root (CI), it runs as the ``postgres`` user,
because PostgreSQL refuses to run as root.

``ANALYZER_TEST_POSTGRES_URL`` (e.g. ``postgresql+psycopg://me@localhost/postgres``)
points the tests at an existing server instead; they create and drop their own
databases there.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

__all__ = ["PostgresServer"]


class PostgresServer:
    """A server to make databases in: ``create_database()`` -> URL, ``drop_database(url)``, ``stop()``."""

    def __init__(self) -> None:
        self._dir: Path | None = None
        given = os.environ.get("ANALYZER_TEST_POSTGRES_URL")
        if given:
            self.admin_url = make_url(given)
            return
        bindir = _bindir()
        self._dir = Path(tempfile.mkdtemp(prefix="analyzer-pg-"))
        data = self._dir / "data"
        as_user = []
        if os.geteuid() == 0:
            shutil.chown(self._dir, "postgres")
            as_user = ["runuser", "-u", "postgres", "--"]
        self._pg_ctl = [*as_user, str(bindir / "pg_ctl"), "-D", str(data)]
        _run([*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
              "-E", "UTF8", "--no-sync", "--no-instructions"])
        options = f"-k {self._dir} -c listen_addresses='' -F -c max_connections=60"
        _run([*self._pg_ctl, "-o", options, "-l", str(self._dir / "server.log"), "-w", "-t", "60", "start"])
        self.admin_url = make_url(f"postgresql+psycopg://postgres@/postgres?host={self._dir}")

    def create_database(self) -> str:
        name = f"analyzer_test_{uuid.uuid4().hex[:12]}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.admin_url.set(database=name).render_as_string(hide_password=False)

    def drop_database(self, url: str) -> None:
        name = make_url(url).database
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        if self._dir is None:
            return
        subprocess.run([*self._pg_ctl, "-m", "immediate", "-w", "stop"], capture_output=True, check=False)
        shutil.rmtree(self._dir, ignore_errors=True)
        self._dir = None

    def _admin(self) -> psycopg.Connection:
        u = self.admin_url
        return psycopg.connect(dbname=u.database, user=u.username, password=u.password,
                               host=u.query.get("host") or u.host, port=u.port, autocommit=True)


def _bindir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[4]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    if on_path:
        return Path(on_path).parent
    raise RuntimeError("PostgreSQL server binaries not found: run `make test` (it installs them with apt), "
                       "or set ANALYZER_TEST_POSTGRES_URL to a server the tests may create databases on")


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        command = " ".join(cmd[:4])
        raise RuntimeError(f"{command}... failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
