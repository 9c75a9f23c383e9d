"""The HTML pages: complete without JavaScript, enhanced by it."""
import json

from flask import Blueprint, abort, current_app, render_template

from webapp import content
from webapp.reminders.kinds import registry

bp = Blueprint("pages", __name__)

ARTICLES = {"cramps": "/cramps", "prevent": "/prevent", "seek-care": "/seek-care", "about": "/about"}
PRECACHED_PAGES = (
    "/",
    *(f"/guide/{m}" for m in content.MUSCLES),
    "/routine/bedtime",
    *ARTICLES.values(),
    "/reminders",
    "/diary",
)


@bp.app_context_processor
def common():
    return {
        "site": content.load("site"),
        "guides": content.load("guides"),
        "triage": content.triage(),
        "numbers": content.numbers_for_page(),
        "fluids": content.load("fluids"),
    }


@bp.get("/")
def home():
    return render_template("home.html")


@bp.get("/guide/<muscle>")
def guide(muscle):
    guides = content.load("guides")
    if muscle not in guides:
        abort(404)
    return render_template(
        "guide.html",
        muscle=muscle,
        guide=guides[muscle],
        aftercare=content.load("aftercare"),
        check_level=content.check_level,
    )


@bp.get("/routine/bedtime")
def bedtime():
    return render_template("bedtime.html", routine=content.load("bedtime"))


def _article(name):
    return render_template("article.html", name=name, article=content.load("articles")[name],
                           sources=content.load("sources"))


for _name, _path in ARTICLES.items():
    bp.add_url_rule(_path, _name, lambda name=_name: _article(name))


@bp.get("/reminders")
def reminders():
    # json.dumps, not the template's tojson, which sorts the keys: the page lists kinds in the registry's order.
    return render_template("reminders.html", kinds=json.dumps(registry(current_app).client(), ensure_ascii=False))


@bp.get("/diary")
def diary():
    return render_template("diary.html", guides=content.load("guides"))
