"""Saved results by format: ``load_result`` reads a folder's ``result.json`` once and hands it to the
loader that the result's module registered for its ``"format"`` (``register``).

Each result kind (race, splitting, volume curve) keeps its own files and checks; this module knows
only the folder, the JSON and the formats, so it imports none of them.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from .files import UnreadableFileError, recover_folder

_LOADERS: dict[str, Callable] = {}


def register(format: str, loader: Callable) -> None:
    """``loader(directory: Path, summary: dict) -> result`` reads saves whose result.json has this format."""
    _LOADERS[format] = loader


def formats() -> list[str]:
    """The formats ``load_result`` reads."""
    return sorted(_LOADERS)


def load_result(directory):
    """Read a saved result of any kind (``RaceResult``, ``SplittingResult``, ``VolumeCurve``: each
    one's ``save``), checking that its files belong together.

    Raises FileNotFoundError without result.json, and an UnreadableFileError (a ValueError) naming the
    file for anything truncated, of an unknown format, or inconsistent (counts, shapes, file list).
    A swap that a crash interrupted is completed first (``io.files.recover_folder``).
    """
    directory = Path(directory)
    recover_folder(directory, "result.json")
    path = directory / "result.json"
    if not path.is_file():
        raise FileNotFoundError(f"directory: no result.json in {directory}")
    try:
        summary = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UnreadableFileError(f"directory: {path} is not readable JSON (truncated or corrupted): {err}") from None
    found = summary.get("format") if isinstance(summary, dict) else type(summary).__name__
    if found not in _LOADERS:
        raise UnreadableFileError(f"directory: {path} has format {found!r}; known: {formats()}")
    return _LOADERS[found](directory, summary)
