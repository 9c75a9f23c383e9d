"""Fail CI when browser tests or PostgreSQL tests were skipped, or none ran."""
import sys
import xml.etree.ElementTree as ET

cases = list(ET.parse(sys.argv[1]).getroot().iter("testcase"))
status = 0


def check(label, selected):
    global status
    skipped = [c for c in selected if c.find("skipped") is not None]
    if not selected or skipped:
        names = ", ".join(c.get("name", "?") for c in skipped[:5])
        print(f"{label} tests: {len(selected)} ran, {len(skipped)} skipped ({names}): CI needs them all run")
        status = 1
    else:
        print(f"{label} tests: {len(selected)} ran, none skipped")


check("browser", [c for c in cases if c.get("classname", "").startswith("tests.browser.")])
# Storage tests run once per backend; their PostgreSQL runs are named ...[postgresql] (or
# [...-postgresql-...] with other parameters).
check("PostgreSQL", [c for c in cases if "postgresql" in c.get("name", "").partition("[")[2]])
sys.exit(status)
