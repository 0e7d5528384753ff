"""Bytes to text without losing text. UTF-8 first: a file that is UTF-8 apart from a few bad bytes
stays UTF-8, the bad bytes replaced by U+FFFD and counted (one stray byte must not turn
``Café`` into ``CafÃ©``). Legacy encodings are tried only for files that are not UTF-8 at all.

    >>> decode_bytes("Café".encode() + b"\\xff", "a.txt")
    Decoded(text='Café\\ufffd', encoding='utf-8', replaced=1)
"""

from __future__ import annotations

import codecs
import threading
import unicodedata
from dataclasses import dataclass

from rag.errors import IngestError

# A file counts as UTF-8 when it has at least as many valid multi-byte sequences as invalid
# bytes. Text in a legacy 8-bit encoding almost never forms valid UTF-8 sequences (an accented
# letter followed by ASCII is always invalid), while a UTF-8 file damaged in a few places keeps
# nearly all of them.
SAMPLE = 8192


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    replaced: int = 0  # bytes (UTF-8) or characters (legacy) that could not be decoded: now U+FFFD


def decode_bytes(data: bytes, name: str) -> Decoded:
    """Decode ``data``, refusing empty and binary input by ``name``."""
    if not data.strip():
        raise IngestError(f"{name}: file is empty")
    head = data[:SAMPLE]
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise IngestError(f"{name}: looks like a binary file (NUL bytes), not text")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            decoded = Decoded(data.decode("utf-16"), "utf-16")
        except UnicodeDecodeError:
            raise IngestError(f"{name}: has a UTF-16 byte-order mark but is not valid UTF-16") from None
    else:
        decoded = _utf8(data)
        if decoded is None:
            decoded = _legacy(data, name)
    text = decoded.text.replace("\r\n", "\n").replace("\r", "\n")
    controls = sum(1 for c in text[:SAMPLE] if ord(c) < 32 and c not in "\n\t\f")
    if controls > 0.05 * min(len(text), SAMPLE):
        raise IngestError(f"{name}: looks like a binary file (control characters), not text")
    if not text.strip():
        raise IngestError(f"{name}: file has no text")
    return Decoded(text, decoded.encoding, decoded.replaced)


def _count_and_replace(err: UnicodeDecodeError):
    """A codec error handler: each undecodable byte becomes one U+FFFD, and is counted."""
    n = err.end - err.start
    _bad.count += n
    return "\ufffd" * n, err.end


_bad = threading.local()
codecs.register_error("ragqa-count-replace", _count_and_replace)


def _utf8(data: bytes) -> Decoded | None:
    """UTF-8 text with its invalid bytes replaced, or None when the file is not UTF-8 at all."""
    _bad.count = 0
    text = data.decode("utf-8-sig", errors="ragqa-count-replace")
    bad = _bad.count
    if bad == 0:
        return Decoded(text, "utf-8")
    multibyte = sum(1 for c in text if ord(c) >= 0x80 and c != "\ufffd")
    return Decoded(text, "utf-8", bad) if multibyte >= bad else None


def _legacy(data: bytes, name: str) -> Decoded:
    """Not UTF-8. Western text in cp1252 is by far the most common case, and charset detectors
    misjudge short samples of it, so it is tried first and accepted when every non-ASCII
    character is a Latin letter or common punctuation (bytes cp1252 leaves undefined become
    U+FFFD and are counted); other scripts go to charset-normalizer."""
    text = data.decode("cp1252", errors="replace")
    undefined = text.count("\ufffd")
    high = [c for c in text if ord(c) >= 128 and c != "\ufffd"]
    letters = sum(1 for c in text if c.isalpha())
    # Western prose is mostly ASCII with a few accented Latin letters; Cyrillic or Greek read
    # as cp1252 turns into runs of accented letters instead.
    if undefined <= max(1, len(high)) and len(high) <= 0.5 * max(letters, 1) and all(
            unicodedata.category(c)[0] in "PSZ" or "LATIN" in unicodedata.name(c, "") for c in high):
        return Decoded(text, "cp1252", undefined)
    from charset_normalizer import from_bytes  # a requests dependency; well kept

    best = from_bytes(data).best()
    if best is None:
        raise IngestError(f"{name}: cannot decode: not UTF-8 and no other encoding fits")
    return Decoded(str(best), best.encoding)
