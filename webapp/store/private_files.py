"""Secrets kept in files only their owner may read (the VAPID key, the
secret key): made once, atomically, with mode 0600, and refused if wider."""
import os
import threading
from pathlib import Path


class InsecureFile(Exception):
    pass


def read_private(path) -> bytes:
    fd = os.open(path, os.O_RDONLY)
    with os.fdopen(fd, "rb") as f:
        mode = os.fstat(f.fileno()).st_mode & 0o777
        if mode & 0o077:
            raise InsecureFile(
                f"{path} has mode {mode:04o}; it must be readable by its owner only (0600). "
                f"Fix it with: chmod 600 {path}"
            )
        return f.read()


def load_or_create(path, make) -> bytes:
    """The file's bytes; if it is missing, ``make()`` them into a new one.

    The new file is written privately under a temporary name and hard-linked
    into place, so a concurrent starter sees no file or a whole one, and the
    first to link wins for everyone.
    """
    path = Path(path)
    try:
        return read_private(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    data = make()
    tmp = path.parent / f".{path.name}.{os.getpid()}.{threading.get_ident()}.{os.urandom(4).hex()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return read_private(path)
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
    return data
