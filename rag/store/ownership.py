"""Which folders are ragqa's, and which files in them ragqa may delete.

A folder becomes an index when ragqa writes ``.ragqa-index`` into it, before anything else, and
only if the folder is new or empty (or already an index). ragqa never writes into any other
folder. Clean-up deletes only names that ragqa itself recorded: the files of an earlier manifest
of this index (``files`` and ``previous_files``), and the files of a build that was killed before
it committed (journalled in ``.ragqa-pending`` before they are written). Nothing is deleted by
pattern, and no folder is removed recursively: a BM25 folder loses only the files the manifest
lists for it, and is removed only if that leaves it empty.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from rag.errors import IndexDirError, RagError

MARKER = ".ragqa-index"
PENDING = ".ragqa-pending"
MANIFEST = "manifest.json"
MARKER_TEXT = ("This folder is a ragqa index (see manifest.json). ragqa only deletes files that one of its\n"
               "manifests listed; delete the whole folder to delete the index.\n")
# Names ragqa generates: a role and an 8-hex-digit generation id. A second guard on deletion, on
# top of "an earlier manifest or the journal listed it".
GENERATED = re.compile(r"^(?:(?:vectors|chunks|documents|faiss|sentences|sentence-offsets|text|lexical)-[0-9a-f]{8}"
                       r"(?:\.npy|\.jsonl|\.json|\.index|\.npz|\.sqlite)?|manifest\.json\.[0-9a-f]{8}\.tmp)$")
# bm25s's files inside a BM25 folder, for indexes written before the manifest listed them.
LEGACY_LEXICAL_FILES = ("data.csc.index.npy", "indices.csc.index.npy", "indptr.csc.index.npy",
                        "vocab.index.json", "params.index.json", "nonoccurrence_array.index.npy")


def _legacy_manifest(path: Path) -> bool:
    """An index written before the marker existed: a manifest.json only ragqa writes."""
    try:
        m = json.loads((path / MANIFEST).read_text("utf-8"))
    except (OSError, ValueError):
        return False
    return (isinstance(m, dict) and isinstance(m.get("schema_version"), int) and "model" in m
            and isinstance(m.get("files"), dict)
            and all(isinstance(i, dict) and GENERATED.match(str(i.get("name", ""))) for i in m["files"].values()))


def is_index(path: Path) -> bool:
    """True if ``path`` is a folder that holds (or is becoming) a ragqa index."""
    path = Path(path)
    return path.is_dir() and ((path / MARKER).is_file() or _legacy_manifest(path))


def check(path: Path) -> None:
    """Raise ``IndexDirError`` if ``path`` exists and is not a folder ragqa may write an index
    into: a file, or a folder of someone's files. Writes nothing."""
    path = Path(path)
    try:
        if path.exists() and not path.is_dir():
            raise IndexDirError(f"{path} is a file, not a folder; give a new or empty folder for the index")
        if path.is_dir() and not is_index(path) and any(path.iterdir()):
            raise IndexDirError(
                f"{path} is not empty and is not a ragqa index (no {MARKER} or ragqa manifest.json in it); "
                f"ragqa writes an index only into a new or empty folder, so that it never overwrites or deletes "
                f"your files: give another folder, e.g. {path / 'ragqa-index'}")
    except OSError as exc:
        raise IndexDirError(f"cannot use {path} as an index folder: {exc.strerror or exc}") from None


def claim(path: Path) -> None:
    """Make ``path`` a folder ragqa may write an index into, or raise ``IndexDirError`` saying why.

    A missing folder is created; an empty folder or an existing index is used; anything else
    (a file, a folder of someone's files) is refused before a single byte is written."""
    path = Path(path)
    check(path)
    try:
        if not path.exists():
            path.mkdir(parents=True)
        if not os.access(path, os.W_OK):
            raise RagError(f"index directory {path} is not writable; choose another with --out")
        if not (path / MARKER).exists():
            (path / MARKER).write_text(MARKER_TEXT, encoding="utf-8")
    except OSError as exc:
        raise IndexDirError(f"cannot use {path} as an index folder: {exc.strerror or exc}") from None


def journal(path: Path, names) -> None:
    """Record ``names`` as being written (call before writing them): if the build is killed, the
    next one knows they are ragqa's and removes them."""
    pending = sorted(set(read_journal(path)) | set(names))
    tmp = path / f"{PENDING}.tmp"
    tmp.write_text(json.dumps(pending), encoding="utf-8")
    os.replace(tmp, path / PENDING)


def read_journal(path: Path) -> list[str]:
    try:
        names = json.loads((Path(path) / PENDING).read_text("utf-8"))
    except (OSError, ValueError):
        return []
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def listed_files(manifest: dict | None) -> set[str]:
    """Every name ``manifest`` lists: its files (with the BM25 folder's own files) and the
    generation it replaced."""
    if not isinstance(manifest, dict):
        return set()
    names = set()
    for info in (manifest.get("files") or {}).values():
        if isinstance(info, dict) and isinstance(info.get("name"), str):
            names.add(info["name"])
            names |= {f"{info['name']}/{f}" for f in (info.get("files") or {})}
    names |= {n for n in manifest.get("previous_files") or () if isinstance(n, str)}
    return names


def remove_stale(path: Path, old: dict | None, new: dict) -> list[str]:
    """After ``new`` committed, delete what ragqa recorded earlier and no longer needs: names of
    the ``old`` manifest (not kept by ``new``: its files and the generation it replaced stay for
    readers) and journalled names of killed builds. Returns the names deleted."""
    keep = listed_files(new)
    candidates = (listed_files(old) | set(read_journal(path))) - keep
    removed = []
    for name in sorted(candidates, key=lambda n: n.count("/"), reverse=True):  # folder contents first
        top, _, inner = name.partition("/")
        if not GENERATED.match(top) or "/" in inner or inner in ("..", "."):
            continue
        target = path / name
        try:
            if target.is_dir() and not target.is_symlink():
                if not any(c.startswith(name + "/") for c in candidates):  # listed as a folder only
                    for f in LEGACY_LEXICAL_FILES:  # (older indexes, killed builds): bm25s's names
                        (target / f).unlink(missing_ok=True)
                target.rmdir()  # only if empty: something not ours inside stays, with its folder
            elif target.exists() or target.is_symlink():
                target.unlink()
            removed.append(name)
        except OSError:
            continue
    (path / PENDING).unlink(missing_ok=True)
    return removed

