"""Secrets carehouse generates for itself, kept in files only their owner can read.

One rule for every secret (the embedded server's password, the gold key): an environment
variable wins; otherwise the secret lives in ``$CAREHOUSE_HOME/secrets/<name>`` with mode 0600
in a 0700 folder, generated on first use. A secret is never printed, logged or passed on a
command line (other local users can read command lines, not files of ours).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from collections.abc import Callable
from pathlib import Path

SECRETS_DIR_MODE = 0o700
SECRET_FILE_MODE = 0o600


class SecretFileError(RuntimeError):
    """A secret file exists but cannot be trusted (readable by others, empty)."""


def private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) if needed and make it readable by its owner only."""
    path.mkdir(parents=True, exist_ok=True)
    if stat.S_IMODE(path.stat().st_mode) != SECRETS_DIR_MODE:
        path.chmod(SECRETS_DIR_MODE)
    return path


def new_secret() -> str:
    """256 random bits as URL-safe text (safe inside a DSN, a PGOPTIONS value and a file)."""
    return secrets.token_urlsafe(32)


def read_or_create_secret(path: Path, make: Callable[[], str] = new_secret) -> str:
    """The secret stored at ``path``, generated (by ``make``) and stored first when there is none.

    The file is written in full under a temporary name and then linked into place, so two
    processes starting at once agree on one secret and a crash never leaves half a secret.
    """
    with contextlib.suppress(FileNotFoundError):
        return _read(path)
    private_dir(path.parent)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, SECRET_FILE_MODE)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(make() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        with contextlib.suppress(FileExistsError):  # another process won the race: use theirs
            os.link(temp, path)
    finally:
        temp.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> str:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise SecretFileError(f"{path} is readable by other users (mode {mode:o}); run `chmod 600 {path}`")
    value = path.read_text(encoding="utf-8").strip()
    if not value:
        raise SecretFileError(f"{path} is empty; delete it to generate a new secret")
    return value
