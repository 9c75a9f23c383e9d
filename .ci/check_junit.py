"""Fail CI when browser tests were skipped or none ran."""
import sys
import xml.etree.ElementTree as ET

cases = ET.parse(sys.argv[1]).getroot().iter("testcase")
browser = [c for c in cases if c.get("classname", "").startswith("tests.browser.")]
skipped = [c for c in browser if c.find("skipped") is not None]
if not browser or skipped:
    print(f"browser tests: {len(browser)} ran, {len(skipped)} skipped: CI needs them all run")
    sys.exit(1)
print(f"browser tests: {len(browser)} ran, none skipped")
