"""Checks on the health content in webapp/content/*.json and on every page
that shows it: every statement names a known source, each red flag is defined
once (triage.json) and no page or script shows one that is not in that table."""
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from webapp.web.pages import PRECACHED_PAGES

ROOT = Path(__file__).resolve().parents[1]
CONTENT = ROOT / "webapp" / "content"
SEED = ROOT.parent / "shared" / "seed" / "leg-cramps-article.txt"

FILES = ("site", "guides", "aftercare", "bedtime", "articles", "tips", "triage", "emergency_numbers",
         "fluids", "sources")
MUSCLES = ["calf", "foot", "hamstring", "quadriceps"]
MAX_STEP_WORDS = 12
MAX_STRING = 600
MAX_TIP = 90
# Labels, names, questions and citations are not claims; everything else that reads as a sentence is.
NOT_STATEMENTS = {"title", "heading", "term", "name", "where", "id", "url", "publisher", "checked", "question",
                  "label", "limited_label", "source", "note", "countries", "level", "emergency",
                  "swelling", "warm", "numbness", "weakness"}
# Words that define a red flag. Only triage.json may use them; pages show them only from it.
FLAG_WORDS = re.compile(r"\b(swollen|swelling|short of breath|breathless|chest pain|coughing up blood|tetanus"
                        r"|dark (pee|urine)|numb(ness)?)\b")
# The same, as sentences a script would have to write to show a red flag itself.
SCRIPT_FLAG_PHRASES = ("short of breath", "chest pain", "coughing up blood", "tetanus", "dark urine", "dark pee",
                       "leg is swollen", "blood clot", "medical help today", "over 10 minutes")


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


def all_strings(files=FILES):
    for name in files:
        for s in strings(load(name)):
            yield name, s


def words(text):
    return text.split()


def statements(node, inherited=(), key=None):
    """(text, source ids) for every claim: a sentence-like string outside NOT_STATEMENTS,
    with the "sources" of its nearest enclosing object (tips: per kind)."""
    if isinstance(node, dict):
        own = node.get("sources", inherited)
        for k, value in node.items():
            if k == "sources":
                continue
            ids = own.get(k, ()) if isinstance(own, dict) else own
            yield from statements(value, ids, k)
    elif isinstance(node, list):
        for value in node:
            yield from statements(value, inherited, key)
    elif isinstance(node, str) and key not in NOT_STATEMENTS and len(words(node)) >= 3:
        yield node, inherited


def check_steps(steps, where):
    assert isinstance(steps, list) and steps, where
    for step in steps:
        assert set(step) <= {"text", "hold", "standing"} and {"text", "hold"} <= set(step), where
        assert isinstance(step["text"], str) and step["text"].strip(), where
        n = len(words(step["text"]))
        assert n <= MAX_STEP_WORDS, f"{where}: {n} words: {step['text']!r}"
        hold = step["hold"]
        assert isinstance(hold, int) and not isinstance(hold, bool), where
        assert hold >= 0, where
        assert step.get("standing", True) is True, "standing is true or absent"


# ---------- Shape ----------

@pytest.mark.parametrize("name", FILES)
def test_file_parses(name):
    data = load(name)
    assert isinstance(data, dict) and data


def test_site_keys():
    site = load("site")
    assert set(site) == {"name", "tagline", "disclaimer", "sources"}
    assert site["name"] == "Unknot"
    assert len(words(site["tagline"])) <= 8
    assert "not medical advice" in site["disclaimer"].lower()


def test_guides_have_exactly_the_four_muscles_in_order():
    assert list(load("guides")) == MUSCLES


@pytest.mark.parametrize("muscle", MUSCLES)
def test_guide_steps(muscle):
    guide = load("guides")[muscle]
    assert set(guide) == {"name", "title", "where", "intro", "steps", "sources"}
    steps = guide["steps"]
    assert 4 <= len(steps) <= 7
    check_steps(steps, muscle)
    assert sum(1 for s in steps if s["hold"] > 0) >= 2


@pytest.mark.parametrize("muscle", MUSCLES)
def test_night_guides_start_sitting_or_lying_with_a_light_on(muscle):
    first = load("guides")[muscle]["steps"][0]
    assert "light" in first["text"].lower() and re.search(r"\b(sit|lie)\b", first["text"].lower()), first
    assert not first.get("standing")
    for step in load("guides")[muscle]["steps"]:
        assert not re.search(r"\bstand\b", step["text"].lower()) or step.get("standing"), step


def test_aftercare():
    aftercare = load("aftercare")
    assert set(aftercare) == {"title", "steps", "sources"}
    assert 3 <= len(aftercare["steps"]) <= 5
    check_steps(aftercare["steps"], "aftercare")
    standing = [s for s in aftercare["steps"] if s.get("standing")]
    assert standing and all("steady" in s["text"] for s in standing), "a standing step says to hold on"
    before = aftercare["steps"][aftercare["steps"].index(standing[0]) - 1]
    assert "sit" in before["text"].lower(), "the seated way comes first"
    assert not any("water" in s["text"].lower() for s in aftercare["steps"]), "no glass of water at 3 a.m."
    flags = load("triage")["flags"]
    ids = {f["id"] for f in flags}
    checks = load("triage")["checks"]
    assert [c["id"] for c in checks] == ["long", "swollen", "breath", "statin"]
    for check in checks:
        assert set(check) == {"id", "question", "flags"}
        assert check["flags"] and set(check["flags"]) <= ids, check
    assert checks[0]["flags"] == ["long-cramp"], "the long-cramp check is the player alert's table entry"


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
        assert set(article["lead"]) == {"text", "sources"}
        for section in article["sections"]:
            assert {"id", "heading", "paragraphs", "items"} <= set(section), (key, section.get("id"))
            for para in section["paragraphs"]:
                assert set(para) == {"text", "sources"}
            for item in section["items"]:
                assert set(item) == {"term", "text", "sources"}
        used = {s for _, ids in statements(article) for s in ids}
        assert set(article["sources"]) == used, key


def test_tips_short_and_distinct():
    tips = load("tips")
    assert set(tips) == {"hydration", "stretch", "sources"}
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


# ---------- Sources ----------

def test_sources_are_complete():
    for sid, source in load("sources").items():
        assert re.fullmatch(r"[a-z0-9-]+", sid)
        assert {"title", "publisher", "url", "checked", "note"} <= set(source), sid
        assert source["title"] and source["publisher"] and source["url"], sid
        # A date only for text actually read; no date says so in the note.
        assert source["checked"] is None or re.fullmatch(r"\d{4}-\d\d-\d\d", source["checked"]), sid
        if source["checked"] is None:
            assert "not" in source["note"].lower(), sid


@pytest.mark.parametrize("name", [f for f in FILES if f != "sources"])
def test_every_statement_has_a_known_source(name):
    known = set(load("sources"))
    found = list(statements(load(name)))
    for text, ids in found:
        assert ids, f"{name}: no source for {text!r}"
        assert set(ids) <= known, f"{name}: unknown source {set(ids) - known} for {text!r}"


def test_the_statement_walker_can_fail():
    assert list(statements({"text": "An unsourced claim here."})) == [("An unsourced claim here.", ())]
    assert list(statements({"sources": ["x"], "items": [{"text": "A sourced claim here."}]})) == [
        ("A sourced claim here.", ["x"])]


def test_claims_without_a_source_are_gone():
    text = " ".join(s.lower() for _, s in all_strings())
    for claim in ("vitamin d", "b12", "varicose", "glass of water before", "settle back"):
        assert claim not in text, claim
    relief = next(s for s in load("articles")["cramps"]["sections"] if s["id"] == "relief")
    assert not [i for i in relief["items"] if "water" in i["text"].lower()], "water does not ease a cramp"


# ---------- The advice the issue names ----------

def test_quinine_as_mhra_and_cks_put_it():
    [quinine] = [i for s in load("articles")["cramps"]["sections"] for i in s["items"] if i["term"] == "Quinine"]
    text = quinine["text"].lower()
    for words_ in ("not for routine use", "sleep", "stretching", "four weeks", "review", "bleeding", "overdose"):
        assert words_ in text, words_
    assert {"mhra-quinine-2010", "nice-cks-leg-cramps"} <= set(quinine["sources"])


def test_stretching_evidence_stated_honestly():
    for name in FILES:
        for s, _ in statements(load(name)):
            assert not re.search(r"stretch\w*\b[^.]*\b(prevents?|stops? (cramps|them)|reduces?)\b", s.lower()), (name, s)
    stretch = next(s for s in load("articles")["prevent"]["sections"] if s["id"] == "stretch")
    text = " ".join(p["text"] for p in stretch["paragraphs"]).lower()
    for needed in ("may help", "80 adults over 55", "low in certainty", "six weeks", "diary"):
        assert needed in text, needed


def test_fluids_against_efsa():
    fluids = load("fluids")
    assert "200 to 250 ml" in fluids["glass"]
    assert fluids["goal_max_glasses"] * 0.25 == 3.0, "a goal over about 3 litres asks to confirm"
    assert "1.6" in fluids["tip"] and "2 litres" in fluids["tip"]
    assert "fluid plan" in fluids["limited"]
    diet = next(s for s in load("articles")["prevent"]["sections"] if s["id"] == "diet")
    assert any("kidney" in p["text"].lower() for p in diet["paragraphs"]), "potassium needs a kidney caveat"


# ---------- One triage table ----------

def test_each_red_flag_is_defined_once_and_only_in_the_table():
    triage = load("triage")
    ids = [f["id"] for f in triage["flags"]]
    terms = [f["term"].lower() for f in triage["flags"]]
    assert len(ids) == len(set(ids)) and len(terms) == len(set(terms))
    assert set(triage["levels"]) == {"emergency", "urgent", "soon", "selfcare"}
    assert {f["level"] for f in triage["flags"]} <= set(triage["levels"])
    for name in FILES:
        if name in ("triage", "sources"):
            continue
        for s in strings(load(name)):
            assert not FLAG_WORDS.search(s.lower()), f"{name} defines a red flag outside triage.json: {s!r}"


def test_scripts_hold_no_red_flag_words():
    for path in (ROOT / "static" / "js").glob("*.js"):
        text = path.read_text(encoding="utf-8").lower()
        for phrase in SCRIPT_FLAG_PHRASES:
            assert phrase not in text, f"{path.name} writes a red flag itself: {phrase!r}"


# Elements whose words come from triage.json: a red flag, an after-care question, a diary symptom box.
MARKERS = {"data-flag": "", "data-question": "?", "data-symptom": "+"}


class FlagText(HTMLParser):
    """The text inside [data-flag] (a red flag) and [data-question] (an after-care
    question) elements, and the text outside them."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}

    def __init__(self, html):
        super().__init__()
        self.flags, self.outside, self.stack, self.levels = [], [], [], []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "data-level" in attrs:
            self.levels.append(attrs["data-level"])
        if tag in self.VOID:
            return
        marker = next((attrs[k] and prefix + attrs[k] for k, prefix in MARKERS.items() if k in attrs), None)
        if marker:
            self.flags.append([marker, ""])
            self.stack.append(tag)
        elif self.stack:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if self.stack:
            self.stack.pop()

    def handle_data(self, data):
        if self.stack:
            self.flags[-1][1] += data
        else:
            self.outside.append(data)


PAGES = [*PRECACHED_PAGES, "/no-such-page"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_show_only_red_flags_from_the_table(client, path):
    response = client.get(path)
    html = response.get_data(as_text=True)
    page = FlagText(html)
    table = {f["id"]: f for f in load("triage")["flags"]}
    questions = {"?" + c["id"]: c["question"] for c in load("triage")["checks"]}
    questions |= {"+" + k: v for k, v in load("triage")["diary_symptoms"].items()}
    shown = [fid for fid, _ in page.flags]
    assert shown, f"{path}: every page shows the red flags (the footer at least)"
    for fid, text in page.flags:
        said = " ".join(text.split())
        if fid in questions:
            assert said == questions[fid], (path, fid, said)
            continue
        assert fid in table, f"{path} shows a red flag that is not in the table: {fid}"
        flag = table[fid]
        assert said in (flag["term"], flag["term"].lower(), f"{flag['term']}. {flag['text']}"), (path, fid, said)
    outside = " ".join(" ".join(page.outside).split()).lower()
    found = FLAG_WORDS.search(outside)
    assert not found, f"{path} shows {found and found.group()!r} outside the triage table's words"
    assert set(page.levels) <= {"emergency", "urgent", "soon", "selfcare"}


def test_the_footer_follows_the_table_and_never_calls_pain_a_red_flag(client):
    html = client.get("/").get_data(as_text=True)
    footer = html[html.index("<footer"):html.index("</footer>")]
    assert "painful" not in footer.lower()
    page = FlagText(footer)
    table = load("triage")["flags"]
    assert [fid for fid, _ in page.flags] == [f["id"] for f in table if f["level"] in ("emergency", "urgent")]
    assert "soon" not in FlagText(footer).levels
    assert 'href="tel:112"' in footer and 'href="/seek-care"' in footer


def test_seek_care_and_about_render_from_the_table(client):
    table = load("triage")["flags"]
    seek = FlagText(client.get("/seek-care").get_data(as_text=True))
    in_boxes = [fid for fid, text in seek.flags if ". " in text]
    assert in_boxes == [f["id"] for f in table], "each red flag once, in its level's box"
    about = client.get("/about").get_data(as_text=True)
    for sid, source in load("sources").items():
        assert f'id="source-{sid}"' in about and source["publisher"] in about


# ---------- Our own words ----------

def shingles(text, n=8):
    tokens = re.findall(r"[a-z0-9']+", text.lower())
    return {" ".join(tokens[i:i + n]) for i in range(len(tokens) - n + 1)}


def test_no_eight_word_run_copied_from_seed():
    if not SEED.is_file():
        pytest.skip("seed article not present")
    seed = shingles(SEED.read_text(encoding="utf-8"))
    assert seed, "no text found in the seed"
    for name, s in all_strings():
        copied = shingles(s) & seed
        assert not copied, (name, copied)


def test_emergency_numbers_name_their_sources():
    table = load("emergency_numbers")
    known = set(load("sources"))
    for region in [table["fallback"], *table["regions"].values()]:
        assert region["sources"] and set(region["sources"]) <= known
