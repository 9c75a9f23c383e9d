"""Lighthouse 12 (mobile, its default simulated throttling) on / and
/guide/calf, served from a loopback server, run with Debian's Chromium.

    python -m bench.lighthouse

Installs Lighthouse 12.2.3 into bench/node_modules with npm on first use.
Goals (DESIGN.md): performance >= 98, accessibility 100, best practices 100.
"""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.serve import Server
from tests.browser.conftest import ARGS, CHROMIUM

HERE = Path(__file__).resolve().parent
LIGHTHOUSE = HERE / "node_modules" / ".bin" / "lighthouse"
PAGES = ["/", "/guide/calf"]
GOALS = {"performance": 98, "accessibility": 100, "best-practices": 100}


def ensure_lighthouse():
    if not LIGHTHOUSE.exists():
        subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent"], cwd=HERE, check=True)


def audit(url):
    with tempfile.TemporaryDirectory() as out:
        report = Path(out) / "report.json"
        flags = " ".join(ARGS + ["--headless=new"])
        subprocess.run(
            [str(LIGHTHOUSE), url, "--quiet", "--output=json", f"--output-path={report}",
             "--only-categories=performance,accessibility,best-practices", f"--chrome-flags={flags}"],
            check=True, env={**os.environ, "CHROME_PATH": CHROMIUM}, timeout=300)
        data = json.loads(report.read_text())
    scores = {k: round(v["score"] * 100) for k, v in data["categories"].items()}
    failing = [
        f"{a['id']}: {a['title']}" for a in data["audits"].values()
        if a.get("score") is not None and a["score"] < 1 and a.get("scoreDisplayMode") == "binary"
    ]
    return scores, failing


def main():
    ensure_lighthouse()
    server = Server().start()
    ok = True
    try:
        for path in PAGES:
            scores, failing = audit(server.url + path)
            verdicts = []
            for category, goal in GOALS.items():
                met = scores[category] >= goal
                ok &= met
                verdicts.append(f"{category} {scores[category]} (goal {goal}, {scores[category] / goal:.2f}x{'' if met else ' MISSED'})")
            print(f"{path}: " + "; ".join(verdicts))
            for line in failing:
                print(f"    not passed: {line}")
    finally:
        server.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
