"""/diary as the server renders it: useful without JavaScript, no inline
code (the CSP forbids it), and the module URLs it hands to diary.js exist."""
import re
from html.parser import HTMLParser


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def parse(html):
    parser = Tags()
    parser.feed(html)
    return parser.tags


def test_diary_renders_with_a_no_js_explanation(client):
    response = client.get("/diary")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<h1>Cramp diary</h1>" in html
    notice = html[html.index('id="needs-js"'):html.index('id="no-storage"')]
    assert "needs JavaScript" in notice
    assert "only on this device" in notice
    assert "Nothing is sent to our server" in notice
    # The interactive part waits for the script; the notice does not.
    assert re.search(r'<div id="app" hidden>', html)
    assert '<a href="/diary" aria-current="page">' in html


def test_no_inline_script_or_style(client):
    html = client.get("/diary").get_data(as_text=True)
    tags = parse(html)
    scripts = [attrs for tag, attrs in tags if tag == "script"]
    assert scripts and all(attrs.get("src") for attrs in scripts)
    assert not [tag for tag, _ in tags if tag == "style"]
    assert not [(tag, attrs) for tag, attrs in tags if "style" in attrs]
    assert not [(tag, name) for tag, attrs in tags for name in attrs if name.startswith("on")]
    assert "javascript:" not in html


def test_form_fields_and_modules(client):
    html = client.get("/diary").get_data(as_text=True)
    tags = parse(html)
    radios = {(a["name"], a["value"]) for t, a in tags if t == "input" and a.get("type") == "radio"}
    assert {("muscle", m) for m in ("calf", "foot", "hamstring", "quadriceps")} <= radios
    assert {("side", s) for s in ("left", "right", "both")} <= radios
    assert {("severity", str(n)) for n in range(11)} <= radios
    boxes = {a["value"] for t, a in tags if t == "input" and a.get("type") == "checkbox" and "value" in a}
    assert {"exercise", "heat", "still", "water", "statin", "medicine", "swelling", "warm", "numbness", "weakness"} <= boxes
    [diary] = [a for t, a in tags if a.get("id") == "diary"]
    for name in ("store", "stats", "csv", "charts"):
        url = diary[f"data-{name}"]
        assert url.startswith(f"/static/js/diary-{name}.js?v=")
        assert client.get(url).status_code == 200
    assert 'href="/seek-care#urgent"' in html


def test_every_input_has_a_label(client):
    html = client.get("/diary").get_data(as_text=True)
    ids = {a["id"] for t, a in parse(html) if t in ("input", "select", "textarea") and "id" in a}
    labelled = set(re.findall(r'<label[^>]*for="([^"]+)"', html))
    assert ids <= labelled


def test_red_flag_cards_come_from_the_triage_table(client):
    """Each diary card's advice is a triage box; the statin card is urgent, other medicines are not."""
    from webapp import content
    html = client.get("/diary").get_data(as_text=True)
    cards = dict(re.findall(r'<template data-flag-card="(\w+)">(.*?)</template>', html, re.S))
    expected = {"statin": "statin", "swelling": "clot-leg", "long": "long-cramp", "frequent": "sleep",
                "weakness": "numb-weak", "medicine": "other-medicine"}
    assert set(cards) == set(expected)
    flags = content.triage()["flags"]
    for kind, flag in expected.items():
        assert re.findall(r'data-flag="([\w-]+)"', cards[kind]) == [flag]
        assert f'data-level="{flags[flag]["level"]}"' in cards[kind]
        assert 'href="/seek-care#' in cards[kind]
        assert 'data-call="emergency" href="tel:112"' in cards[kind], "every red-flag box has the call link"
    assert 'data-level="urgent"' in cards["statin"] and 'data-level="soon"' in cards["medicine"]
    assert "Cramps that disturb your sleep" in cards["frequent"]
    assert 'id="fluid-limited"' in html and "200 to 250 ml" in html
