"""Checks on the health content in webapp/content/*.json (stdlib json only)."""
import json
import re
from pathlib import Path

import pytest

CONTENT = Path(__file__).resolve().parents[1] / "webapp" / "content"
SEED = Path(__file__).resolve().parents[2] / "shared" / "seed" / "leg-cramps-article.txt"

FILES = ("site", "guides", "aftercare", "bedtime", "articles", "tips")
MUSCLES = ["calf", "foot", "hamstring", "quadriceps"]
MAX_STEP_WORDS = 12
MAX_STRING = 600
MAX_TIP = 90


def load(name):
    with open(CONTENT / f"{name}.json", encoding="utf-8") as f:
        return json.load(f)


def strings(node):
    """Every string in a JSON value, keys included."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from strings(value)


def all_strings():
    for name in FILES:
        for s in strings(load(name)):
            yield name, s


def words(text):
    return text.split()


def normalise(text):
    return " ".join(text.lower().split())


def check_steps(steps, where):
    assert isinstance(steps, list) and steps, where
    for step in steps:
        assert set(step) == {"text", "hold"}, where
        assert isinstance(step["text"], str) and step["text"].strip(), where
        n = len(words(step["text"]))
        assert n <= MAX_STEP_WORDS, f"{where}: {n} words: {step['text']!r}"
        hold = step["hold"]
        assert isinstance(hold, int) and not isinstance(hold, bool), where
        assert hold >= 0, where


@pytest.mark.parametrize("name", FILES)
def test_file_parses(name):
    data = load(name)
    assert isinstance(data, dict) and data


def test_site_keys():
    site = load("site")
    assert set(site) == {"name", "tagline", "disclaimer", "emergency"}
    assert site["name"] == "Unknot"
    assert len(words(site["tagline"])) <= 8
    assert "not medical advice" in site["disclaimer"].lower()
    assert "emergency" in site["emergency"].lower()


def test_guides_have_exactly_the_four_muscles_in_order():
    assert list(load("guides")) == MUSCLES


@pytest.mark.parametrize("muscle", MUSCLES)
def test_guide_steps(muscle):
    guide = load("guides")[muscle]
    assert set(guide) == {"name", "title", "where", "intro", "steps"}
    steps = guide["steps"]
    assert 4 <= len(steps) <= 7
    check_steps(steps, muscle)
    assert sum(1 for s in steps if s["hold"] > 0) >= 2


def test_aftercare():
    aftercare = load("aftercare")
    assert set(aftercare) == {"title", "steps", "checks"}
    assert 3 <= len(aftercare["steps"]) <= 5
    check_steps(aftercare["steps"], "aftercare")
    checks = aftercare["checks"]
    assert [c["id"] for c in checks] == ["long", "swollen", "breath"]
    assert [c["level"] for c in checks] == ["doctor", "urgent", "emergency"]
    for check in checks:
        assert set(check) == {"id", "question", "advice", "level"}
        assert check["question"].strip() and check["advice"].strip()


def test_bedtime_protocol_and_stretches():
    bedtime = load("bedtime")
    assert bedtime["protocol"]["hold"] == 10
    assert bedtime["protocol"]["reps"] == 3
    assert bedtime["protocol"]["rest"] == 10
    assert isinstance(bedtime["protocol"]["long_hold"], int)
    assert [s["id"] for s in bedtime["stretches"]] == ["wall-calf", "standing-hamstring"]
    assert [s["id"] for s in bedtime["seated"]] == ["seated-calf", "seated-hamstring"]
    for stretch in bedtime["stretches"] + bedtime["seated"]:
        assert set(stretch) == {"id", "name", "setup", "hold_text"}
        assert stretch["setup"]
        for line in stretch["setup"] + [stretch["hold_text"]]:
            assert len(words(line)) <= MAX_STEP_WORDS, line
    assert "Hallegraeff" in bedtime["source"]


def test_articles_sections_have_paragraphs_and_items():
    articles = load("articles")
    assert list(articles) == ["cramps", "prevent", "seek-care", "about"]
    for key, article in articles.items():
        assert {"title", "lead", "sections", "sources"} <= set(article), key
        assert article["sections"], key
        for section in article["sections"]:
            assert {"id", "heading", "paragraphs", "items"} <= set(section), (key, section.get("id"))
            assert isinstance(section["paragraphs"], list)
            assert isinstance(section["items"], list)
            for item in section["items"]:
                assert set(item) == {"term", "text"}
        for source in article["sources"]:
            assert set(source) == {"title", "publisher"}
    seek = {s["id"] for s in articles["seek-care"]["sections"]}
    assert {"emergency", "urgent", "doctor"} <= seek


def test_tips_short_and_distinct():
    tips = load("tips")
    assert set(tips) == {"hydration", "stretch"}
    assert 12 <= len(tips["hydration"]) <= 16
    assert 10 <= len(tips["stretch"]) <= 14
    every = tips["hydration"] + tips["stretch"]
    for tip in every:
        assert isinstance(tip, str) and tip.strip()
        assert len(tip) <= MAX_TIP, tip
    assert len(set(every)) == len(every)


def test_no_leg_swelling_heading():
    for name, s in all_strings():
        assert "leg swelling" not in s.lower(), (name, s)


def test_no_string_too_long():
    for name, s in all_strings():
        assert len(s) <= MAX_STRING, (name, len(s), s[:60])


def seed_sentences(text):
    """Sentences of the seed article: split at line breaks and at . ! ? followed by space."""
    for line in text.splitlines():
        for part in re.split(r"(?<=[.!?])\s+", line):
            part = normalise(part.strip(" -–•\t"))
            if len(words(part)) >= 8:
                yield part
                # Also without the closing full stop, so a copy that ends differently is caught.
                if part[-1] in ".!?:":
                    yield part[:-1]


def test_no_sentence_copied_from_seed():
    if not SEED.is_file():
        pytest.skip("seed article not present")
    sentences = set(seed_sentences(SEED.read_text(encoding="utf-8")))
    assert sentences, "no sentences found in the seed"
    for name, s in all_strings():
        text = normalise(s)
        for sentence in sentences:
            assert sentence not in text, (name, sentence)
