"""The dashboard served by Streamlit on a free localhost port, for browser tests and benchmarks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["APP", "served"]

APP = Path(__file__).resolve().parents[1] / "app.py"


@contextmanager
def served(data_dir: Path, script: Path = APP, *, start_timeout_s: float = 90.0) -> Iterator[str]:
    """Serve ``script`` with the records in ``data_dir`` (SQLite); yields its URL, stops it after.

    Raises RuntimeError, with Streamlit's log, if it does not answer its health check in time.
    """
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "ANALYZER_DATA_DIR": str(data_dir)}
    env.pop("ANALYZER_DATABASE_URL", None)
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(script), "--server.port",
                                 str(port), "--server.address", "127.0.0.1", "--server.headless", "true"],
                                cwd=APP.parent, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + start_timeout_s
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                        break
                except OSError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        log.seek(0)
                        text = log.read().decode(errors="replace")
                        raise RuntimeError(f"the dashboard did not start:\n{text}") from None
                    time.sleep(0.5)
            yield url
        finally:
            proc.terminate()
            proc.wait(timeout=30)
