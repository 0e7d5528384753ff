"""The perturbed training questions of eval/perturb.py (pure logic: seeded string changes)."""

from __future__ import annotations

import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "eval"))

import perturb  # noqa: E402


def test_perturb_changes_the_question_and_is_seeded():
    q = "How many people lived in Warsaw in 1939?"
    a = perturb.perturb(q, random.Random(0), ["Kraków", "Gdańsk"], set())
    b = perturb.perturb(q, random.Random(0), ["Kraków", "Gdańsk"], set())
    assert a == b and a is not None and a != q


def test_each_kind_of_change():
    rng = random.Random(1)
    assert perturb._antonym("What is the largest city?", rng) == "What is the smallest city?"
    assert perturb._negate("Who was elected mayor?", rng) == "Who was not elected mayor?"
    changed = perturb._number("What happened in 1939?", rng)
    assert changed != "What happened in 1939?" and "1939" not in changed
    swapped = perturb._entity("Where did Watt see a governor?", rng, ["Boulton", "Watt"], set())
    assert swapped == "Where did Boulton see a governor?"


def test_entity_swap_avoids_the_paragraphs_own_names():
    rng = random.Random(0)
    assert perturb._entity("Where did Watt see a governor?", rng, ["Boulton"], {"boulton"}) is None


def test_no_change_possible_gives_none():
    assert perturb.perturb("why?", random.Random(0), [], set()) is None


def test_article_names_in_order():
    assert perturb.article_names(["In 1788 James Watt met Matthew Boulton in Soho."]) == [
        "James Watt", "Matthew Boulton", "Soho"]
