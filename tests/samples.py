"""Small documents shared by the store tests: ``from tests.samples import CATS, SHIPS, write_sources``."""

from __future__ import annotations

from pathlib import Path

CATS = """Cats are small domesticated carnivores that purr when content.

A cat sleeps for most of the day, often in warm sunny spots.

Kittens are born blind and open their eyes after about a week."""

SHIPS = """The harbour hosts container ships from many countries every week.

A container ship carries thousands of standard steel boxes across the ocean.

Tugboats guide the largest ships into their berths at the harbour."""


def write_sources(folder: Path) -> Path:
    """``folder`` with cats.txt and ships.txt (three paragraphs each) written into it."""
    folder.mkdir(parents=True)
    (folder / "cats.txt").write_text(CATS, encoding="utf-8")
    (folder / "ships.txt").write_text(SHIPS, encoding="utf-8")
    return folder
