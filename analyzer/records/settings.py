"""Where a clinic's records live and how sign-in behaves: from the environment or a config file.

Each setting is read from the environment first, then from the TOML file named
by ``ANALYZER_CONFIG`` (its ``[analyzer]`` table, keys in lower case without the
``ANALYZER_`` prefix), then the default. Nothing secret is in the repository:
a database password belongs in the environment or in that file (readable by the
server's user only).

``ANALYZER_DATA_DIR`` / ``data_dir``
    The data folder (default ``./data``): the SQLite database and the image
    store. Back it up as a whole (README, "Backup and restore").
``ANALYZER_DATABASE_URL`` / ``database_url``
    An SQLAlchemy URL; default ``sqlite:///<data folder>/analyzer.sqlite3``.
    A group of clinics points it at PostgreSQL, e.g.
    ``postgresql+psycopg://user:password@host/analyzer``.
``ANALYZER_IDLE_MINUTES`` / ``idle_minutes``
    Sign out after this many minutes without activity (default 30).
``ANALYZER_MAX_SESSION_HOURS`` / ``max_session_hours``
    Sign out this many hours after signing in (default 12).
``ANALYZER_INVITE_DAYS`` / ``invite_days``
    Invites expire after this many days (default 7).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from analyzer.records.access import Policy

__all__ = ["Settings", "SettingsError"]

_LIMITS = {"idle_minutes": (1.0, 24 * 60.0), "max_session_hours": (0.1, 24 * 30.0),
           "invite_days": (0.01, 90.0)}


class SettingsError(ValueError):
    """A setting that cannot be used; ``str(err)`` names it and says why."""


@dataclass(frozen=True)
class Settings:
    """The data folder, the database URL and the sign-in policy.

    Attributes
    ----------
    data_dir : pathlib.Path
        Absolute path of the data folder (created on first use).
    database_url : str
        SQLAlchemy URL of the records database.
    policy : analyzer.records.access.Policy
        Sign-in limits: idle and maximum session time, invite lifetime, lockout.
    """

    data_dir: Path
    database_url: str
    policy: Policy = field(default_factory=Policy)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from the environment and ``ANALYZER_CONFIG`` (see module doc).

        Raises :class:`SettingsError` for an unreadable config file or a value out of range.
        """
        env = os.environ if env is None else env
        file = _config_file(env.get("ANALYZER_CONFIG"))

        def get(name: str) -> str | None:
            value = env.get(f"ANALYZER_{name.upper()}") or file.get(name)
            return None if value in (None, "") else str(value)

        data_dir = Path(get("data_dir") or "data").expanduser().resolve()
        url = get("database_url") or f"sqlite:///{data_dir / 'analyzer.sqlite3'}"
        limits = {}
        for name, (low, high) in _LIMITS.items():
            raw = get(name)
            if raw is None:
                continue
            try:
                value = float(raw)
            except ValueError:
                raise SettingsError(f"{name} must be a number, not {raw!r}") from None
            if not low <= value <= high:
                raise SettingsError(f"{name} must be between {low:g} and {high:g} (got {value:g})")
            limits[name] = value
        return cls(data_dir, url, Policy(**limits))

    @property
    def store_dir(self) -> Path:
        """Folder of the content-addressed image store."""
        return self.data_dir / "images"


def _config_file(path: str | None) -> dict:
    if not path:
        return {}
    try:
        with open(Path(path).expanduser(), "rb") as f:
            table = tomllib.load(f).get("analyzer", {})
    except OSError as err:
        raise SettingsError(f"the config file {path} cannot be read: {err.strerror}") from None
    except tomllib.TOMLDecodeError as err:
        raise SettingsError(f"the config file {path} is not valid TOML: {err}") from None
    if not isinstance(table, dict):
        raise SettingsError(f"the config file {path} needs an [analyzer] table")
    return table
