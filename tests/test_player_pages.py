"""The guide and bedtime pages as the server renders them (no JavaScript):
complete steps with their holds, the player's launch area, the checks, and
nothing inline that the CSP would block."""
import re
from html.parser import HTMLParser

import pytest

from webapp import content

MUSCLES = list(content.MUSCLES)
PAGES = [f"/guide/{m}" for m in MUSCLES] + ["/routine/bedtime"]


class Page(HTMLParser):
    """Every start tag as (tag, attrs), and the text of each element with an id."""

    def __init__(self, html):
        super().__init__()
        self.tags = []
        self.scripts = []
        self._in_script = False
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"
        if tag == "script":
            self.scripts.append({"attrs": dict(attrs), "body": ""})

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False

    def handle_data(self, data):
        if self._in_script:
            self.scripts[-1]["body"] += data

    def find(self, tag=None, **attrs):
        return [a for t, a in self.tags if (tag is None or t == tag)
                and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())]


def get(client, path):
    response = client.get(path)
    assert response.status_code == 200
    return response.get_data(as_text=True)


@pytest.mark.parametrize("path", PAGES)
def test_no_inline_script_or_style(client, path):
    html = get(client, path)
    page = Page(html)
    assert all(s["attrs"].get("src") and not s["body"].strip() for s in page.scripts)
    assert not [a for _, a in page.tags if "style" in a]
    assert "<style" not in html
    assert not [a for _, a in page.tags if any(k.startswith("on") for k in a)]
    srcs = [s["attrs"]["src"] for s in page.scripts]
    assert any(re.fullmatch(r"/static/js/player\.js\?v=\w+", s) for s in srcs)
    assert page.find("script", type="module", src=next(s for s in srcs if "player.js" in s))
    assert any(re.fullmatch(r"/static/css/player\.css\?v=\w+", a.get("href", "")) for a in page.find("link", rel="stylesheet"))
    assert not re.search(r"(src|href)=\"(https?:)?//", html), "nothing from another origin"


@pytest.mark.parametrize("muscle", MUSCLES)
def test_guide_has_every_step_with_its_hold(client, muscle):
    html = get(client, f"/guide/{muscle}")
    guide = content.load("guides")[muscle]
    page = Page(html)
    assert page.tags[0][0] == "html" and "data-night" in page.tags[0][1], "may open in the night theme"
    steps = re.findall(r'<li class="step" data-hold="(\d+)"( data-standing)?><span class="step-text">([^<]+)</span>', html)
    aftercare = content.load("aftercare")["steps"]
    assert steps == [(str(s["hold"]), " data-standing" if s.get("standing") else "", s["text"])
                     for s in guide["steps"] + aftercare]
    assert any(s.get("standing") for s in aftercare), "the player must know which step is standing"
    for s in guide["steps"]:
        if s["hold"]:
            assert f"Hold {s['hold']} seconds." in html
    routine = page.find("section", id="routine")
    assert routine and routine[0]["data-routine"] == muscle and routine[0]["data-title"] == guide["title"]


@pytest.mark.parametrize("path", PAGES)
def test_start_control_container(client, path):
    html = get(client, path)
    page = Page(html)
    launch = page.find("div", id="player")
    assert launch and launch[0]["class"] == "player-launch"
    assert "hidden" not in launch[0], "shown by CSS where scripts run, so nothing shifts"
    start = re.search(r'<button type="button" class="player-start" data-start>([^<]+)</button>', html)
    assert start and "Start" in start[1]
    assert html.index('id="player"') < html.index('class="routine"'), "Start comes before the steps"
    assert '<details class="player-settings"><summary>' in html


def test_bedtime_has_both_sets_with_the_protocol(client):
    html = get(client, "/routine/bedtime")
    routine = content.load("bedtime")
    p = routine["protocol"]
    page = Page(html)
    assert page.find("div", id="player")[0]["data-routine"] == "bedtime"
    for name, stretches in (("standing", routine["stretches"]), ("seated", routine["seated"])):
        section = page.find("section", id=f"routine-{name}")[0]
        assert (section["data-hold"], section["data-reps"], section["data-rest"], section["data-long-hold"]) == \
            (str(p["hold"]), str(p["reps"]), str(p["rest"]), str(p["long_hold"]))
        for s in stretches:
            assert page.find("div", data_stretch=s["id"])
            assert s["hold_text"] in html
            for line in s["setup"]:
                assert line.replace("'", "&#39;") in html
    assert page.find("input", type="radio", name="set", value="standing")
    assert page.find("input", type="radio", name="set", value="seated")
    assert page.find("input", type="checkbox", name="long")
    assert f"hold {p['hold']} seconds, {p['reps']} times, with {p['rest']} seconds of rest" in html


@pytest.mark.parametrize("muscle", MUSCLES)
def test_checks_and_the_diary_link(client, muscle):
    html = get(client, f"/guide/{muscle}")
    page = Page(html)
    checks = content.triage()["checks"]
    for check in checks:
        level = content.check_level(check)
        assert page.find("fieldset", data_check=check["id"], data_level=level)
        assert page.find("input", type="radio", name=check["id"], value="yes")
        advice = page.find("div", id=f"advice-{check['id']}")[0]
        assert "hidden" not in advice, "without JavaScript every piece of advice shows"
        # The advice is the triage table's box for the check's flags, with the call link.
        box = html[html.index(f'id="advice-{check["id"]}"'):]
        box = box[:box.index("</fieldset>")]
        assert re.findall(r'data-flag="([\w-]+)"', box) == check["flags"]
        if level in ("emergency", "urgent"):
            assert 'data-call="emergency" href="tel:112"' in box
        if level == "emergency":
            assert advice.get("role") == "alert"
        else:
            assert advice.get("aria-live") == "polite"
    assert page.find("a", id="log-cramp", href="/diary?from=player")
    alert = html[html.index('<template id="long-cramp-alert">'):]
    alert = alert[:alert.index("</template>")]
    assert re.findall(r'data-flag="([\w-]+)"', alert) == ["long-cramp"], "the 10-minute alert is the table entry"
    assert 'href="/seek-care#urgent"' in alert and 'data-call="emergency"' in alert
    assert "Log this cramp" in html
