"""Where a clinic's records live: read once from the environment.

``ANALYZER_DATA_DIR``
    The data folder (default ``./data``): the SQLite database and the image
    store. Back it up as a whole (README, "Backup and restore").
``ANALYZER_DATABASE_URL``
    An SQLAlchemy URL; default ``sqlite:///<data folder>/analyzer.sqlite3``.
    A group of clinics points it at PostgreSQL, e.g.
    ``postgresql+psycopg://user:password@host/analyzer``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Settings"]


@dataclass(frozen=True)
class Settings:
    """The data folder and the database URL.

    Attributes
    ----------
    data_dir : pathlib.Path
        Absolute path of the data folder (created on first use).
    database_url : str
        SQLAlchemy URL of the records database.
    """

    data_dir: Path
    database_url: str

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``ANALYZER_DATA_DIR`` and ``ANALYZER_DATABASE_URL`` (see module doc)."""
        env = os.environ if env is None else env
        data_dir = Path(env.get("ANALYZER_DATA_DIR") or "data").expanduser().resolve()
        url = env.get("ANALYZER_DATABASE_URL") or f"sqlite:///{data_dir / 'analyzer.sqlite3'}"
        return cls(data_dir, url)

    @property
    def store_dir(self) -> Path:
        """Folder of the content-addressed image store."""
        return self.data_dir / "images"
