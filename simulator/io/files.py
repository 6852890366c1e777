"""Atomic writes of files and of whole folders, and checks that an output location is writable.

* ``atomic_path`` / ``atomic_write``: a temporary file next to the target,
  fsync, then rename over it: a reader (or a crash) sees the old file or the
  new one, never a mix.
* ``replace_folder``: a folder written whole into a temporary sibling, then
  swapped in (rename the old folder aside, rename the new one in, delete the
  old). A crash leaves the old complete folder, or the new complete one, or,
  between the two renames, both complete under hidden sibling names;
  ``recover_folder`` finishes such a swap. No file of an older save survives in
  the new folder.
* ``writable_folder``: make a folder (or refuse a path that is a file) and
  prove it writable, before any work that would be lost if it were not.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import numpy as np


class UnreadableFileError(ValueError):
    """A file that exists but is not what it should be: truncated, damaged, of another format, or from
    another save. A ValueError (it is bad input to the call), kept apart so that the command line can exit
    with status 1 (a file that cannot be read) rather than 2 (bad usage)."""


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: Path):
    """Yield a temporary path next to ``path``; on success fsync it, make it readable
    (0666 less the umask, not mkstemp's 0600) and rename it over ``path``."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write(path: Path, write) -> None:
    """Write through ``write(file)`` to a temporary file, then rename it over ``path``."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        write(f)


def read_npz(path, name: str, keys=None, hint: str = "") -> dict:
    """The arrays of an ``.npz`` file (only ``keys`` if given); a ValueError naming the argument ``name``
    and the file (an UnreadableFileError) if it is truncated, damaged or lacks a key (``hint`` says what to do
    about it)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k: data[k] for k in (data.files if keys is None else keys)}
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise UnreadableFileError(f"{name}: {path} is not readable ({type(err).__name__}: {err}){hint}") from None


def writable_folder(name: str, path) -> Path:
    """``path`` as a folder that exists and accepts files; a ValueError (a file is in the way) or an
    OSError naming the argument ``name`` and the path otherwise. Creates missing parents."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ValueError(f"{name}: {path} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".stabsim-write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise OSError(err.errno, f"{name}: cannot write in {path} ({err.strerror or err})") from err
    return path


def _siblings(path: Path, kind: str) -> list[Path]:
    return sorted(path.parent.glob(f".{path.name}.{kind}-*")) if path.parent.is_dir() else []


def recover_folder(path: Path, complete: str) -> None:
    """Finish a swap that a crash interrupted: if ``path`` lacks its ``complete`` marker file and a
    new copy that has one waits beside it, move that copy into place; drop the old copy."""
    path = Path(path)
    if not (path / complete).is_file():
        ready = [p for p in _siblings(path, "new") if (p / complete).is_file()]
        if ready:
            if path.exists():
                shutil.rmtree(path)
            os.rename(ready[-1], path)
    for leftover in _siblings(path, "old") + [p for p in _siblings(path, "new") if not (p / complete).is_file()]:
        shutil.rmtree(leftover, ignore_errors=True)


@contextlib.contextmanager
def replace_folder(path: Path, owned: frozenset):
    """Yield a fresh temporary folder beside ``path``; on success it replaces ``path`` whole.

    ``path`` may be missing, empty, or hold only files named in ``owned`` (an
    earlier save); anything else is refused (a ValueError naming the folder), so
    that no unrelated file is ever deleted.
    """
    path = Path(path)
    if path.exists():
        if not path.is_dir():
            raise ValueError(f"directory: {path} is a file, not a folder")
        foreign = sorted(p.name for p in path.iterdir() if p.name not in owned)
        if foreign:
            raise ValueError(f"directory: {path} holds files that are not part of a saved result "
                             f"({', '.join(foreign[:3])}); save into a new or empty folder")
    writable_folder("directory", path.parent)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.new-"))
    try:
        yield tmp
        for f in tmp.iterdir():
            with open(f, "rb+") as handle:
                os.fsync(handle.fileno())
        os.chmod(tmp, 0o777 & ~_umask())
        _fsync_dir(tmp)
        if path.exists():
            old = path.parent / f".{path.name}.old-{tmp.name.rsplit('-', 1)[-1]}"
            os.rename(path, old)
            os.rename(tmp, path)
            shutil.rmtree(old)
        else:
            os.rename(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def check_saved_set(directory: Path, summary: dict, keys, owned: frozenset) -> None:
    """A saved result's ``result.json`` must hold ``keys``, and the files of ``owned`` present must be the ones
    it lists (``summary["files"]``, when written): an UnreadableFileError naming the file otherwise."""
    path = Path(directory) / "result.json"
    lacking = [key for key in keys if key not in summary]
    if lacking:
        missing = lacking if len(lacking) > 1 else repr(lacking[0])
        raise UnreadableFileError(f"directory: {path} lacks {missing}; it is not a complete saved result")
    listed = summary.get("files")
    if listed is not None:
        present = sorted(name for name in owned if (Path(directory) / name).is_file())
        if present != sorted(listed):
            raise UnreadableFileError(f"directory: {directory} holds {present}, but {path} lists {sorted(listed)}")
