"""Decoding that keeps text (issue #12, item 3): mostly-valid UTF-8 stays UTF-8 with its few bad
bytes replaced and counted; legacy encodings only for files that are not UTF-8 at all."""

from __future__ import annotations

import pytest

from rag.config import Config
from rag.errors import IngestError
from rag.ingest.decoding import decode_bytes
from rag.ingest.formats import load_document
from rag.store.indexer import build_index

FAKE = Config(model="fake")


def test_one_stray_byte_in_utf8_is_replaced_not_reinterpreted():
    data = "Café crème, s'il vous plaît.\n\nÀ bientôt.".encode() + b"\xff" + " Merci.".encode()
    d = decode_bytes(data, "menu.txt")
    assert d.text == "Café crème, s'il vous plaît.\n\nÀ bientôt.\ufffd Merci."
    assert (d.encoding, d.replaced) == ("utf-8", 1)


def test_a_few_bad_bytes_among_many_good_ones_are_counted():
    good = "Ελληνικά και Русский и Français. " * 40
    data = good.encode() + b"\x80\x81" + good.encode() + b"\xc3"
    d = decode_bytes(data, "mixed.txt")
    assert d.encoding == "utf-8" and d.replaced == 3
    assert d.text.count("Ελληνικά") == 80


def test_valid_utf8_reports_nothing_replaced():
    d = decode_bytes("Grüße aus Köln.".encode(), "a.txt")
    assert (d.text, d.encoding, d.replaced) == ("Grüße aus Köln.", "utf-8", 0)


def test_cp1252_with_an_undefined_byte_stays_latin_not_cyrillic():
    text = "Le café était très bon, à bientôt. La crème brûlée aussi, garçon."
    data = text.encode("cp1252").replace(b"bon,", b"bon\x81,")  # 0x81 is undefined in cp1252
    d = decode_bytes(data, "menu.txt")
    assert d.text == text.replace("bon,", "bon\ufffd,")
    assert (d.encoding, d.replaced) == ("cp1252", 1)


def test_pure_cp1252_file_is_still_recognised():
    text = "Sanctions – the “EU list” – were extended. Très bien."
    d = decode_bytes(text.encode("cp1252"), "a.txt")
    assert (d.text, d.encoding, d.replaced) == (text, "cp1252", 0)


def test_cp1251_file_is_still_cyrillic():
    text = "Посол Антонов находится в санкционном списке ЕС. Это важно для Вашингтона."
    d = decode_bytes(text.encode("cp1251"), "ru.txt")
    assert d.text == text and d.replaced == 0


def test_mostly_garbage_is_refused():
    with pytest.raises(IngestError, match="binary|cannot decode"):
        decode_bytes(bytes(range(128, 256)) * 40 + b"\x01\x02" * 300, "noise.txt")


def test_summary_names_the_file_and_how_many_bytes_were_replaced(tmp_path, fake_embedder):
    f = tmp_path / "menu.txt"
    f.write_bytes("Café crème.\n\nÀ bientôt.".encode() + b"\xff\xfe")
    report = build_index([f], tmp_path / "idx", FAKE, embedder=fake_embedder)
    assert (str(f), "2 bytes that are not valid UTF-8 replaced with U+FFFD") in report.notes
    assert load_document(f).paragraphs[0].text == "Café crème."


def test_one_good_and_one_bad_sequence_is_still_utf8():
    # Regression: with a strict majority rule this fell through to charset-normalizer's UTF-16 guess.
    assert decode_bytes("Café".encode() + b"\xff", "a.txt").text == "Café\ufffd"
