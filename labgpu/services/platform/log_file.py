"""labgpu's log file: ``labgpu.log`` in the platform's log directory, rotating.

The app and the CLI write their INFO and louder lines there (the CLI's stderr keeps its own,
quieter level), so that the crash dialog can say where the details are and a member can send
the file to whoever looks after labgpu in the lab. Each process starts with one line naming
labgpu's version, what runs (the app, a command) and the kind of database.
"""

from __future__ import annotations

import logging
import logging.handlers
from pathlib import Path

from labgpu import __version__
from labgpu.services.platform import paths

LOG_NAME = "labgpu.log"
#: Rotate at about 1 MB, keeping three old files: months of a normal lab's warnings.
MAX_BYTES = 1_000_000
BACKUPS = 3
FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"

log = logging.getLogger(__name__)
_handler: logging.handlers.RotatingFileHandler | None = None


def log_path() -> Path:
    """Where the log file is (the directory is made if missing)."""
    return paths.log_dir() / LOG_NAME


def database_kind(url: str, demo: bool = False) -> str:
    """``demo``, ``sqlite``, ``postgresql`` or ``unknown`` (never the URL: it may hold a
    password)."""
    if demo:
        return "demo"
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    return {"postgres": "postgresql"}.get(scheme, scheme) if scheme else "unknown"


def start_log_file(what: str, database: str) -> Path | None:
    """Send INFO and louder lines to ``labgpu.log`` from now on and write the start line;
    the file's path, or None where no file can be written (the reason goes to stderr's log).

    Called again (another command in the same process, another log directory) it moves to
    the current path instead of adding a second file.
    """
    global _handler
    root = logging.getLogger()
    try:
        path = log_path()
        if _handler is None or Path(_handler.baseFilename) != path.resolve():
            handler = logging.handlers.RotatingFileHandler(
                path, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=True
            )
            handler.setLevel(logging.INFO)
            handler.setFormatter(logging.Formatter(FORMAT))
            stop_log_file()
            root.addHandler(handler)
            _handler = handler
    except OSError as exc:
        log.warning("no log file: %s", exc)
        return None
    if root.level > logging.INFO or root.level == logging.NOTSET:
        # The root's level filters before any handler: let INFO through to the file, and
        # keep the console's level on its own handlers.
        for other in root.handlers:
            if other is not _handler and other.level == logging.NOTSET:
                other.setLevel(root.level or logging.WARNING)
        root.setLevel(logging.INFO)
    log.info("labgpu %s started: %s, %s database; log file %s", __version__, what, database, path)
    return path


def stop_log_file() -> None:
    """Close the log file (tests, and before a new one is opened)."""
    global _handler
    if _handler is not None:
        logging.getLogger().removeHandler(_handler)
        _handler.close()
        _handler = None
