"""The diary's CSV, made by static/js/diary-csv.js in Chromium: no cell, and
no part of a cell after ; , tab or a line break, can run as a formula in a
spreadsheet, whichever separator its locale splits on; importing the file
gives back exactly what was exported."""
import csv
import io
import re

NOTES = [
    'calf;=HYPERLINK("http://evil.test","x")',
    "left leg, =1+1",
    "woke at 3\t=cmd|' /C calc'!A0",
    "line one\n@SUM(1)",
    "line one\r\n+2",
    "a; -3",
    "; ' =4",
    "=5",
    "'=6 stays as typed",
    "it's fine; really, it is",
    "plain",
]
TRIGGERS = ["dehydration", "=cmd", "@x"]
RISKY = re.compile(r"^ *[=+\-@]")  # what a spreadsheet would run (a leading ' keeps text as text)


def run_csv_module(page, notes, triggers):
    return page.evaluate(
        """async ([notes, triggers]) => {
             const { toCsv, fromCsv } = await import('/static/js/diary-csv.js');
             const entries = notes.map((note, i) => ({
               id: `e${i}`, at: '2026-02-10T02:40:00Z', muscle: 'calf', side: 'left', severity: 5,
               seconds: 60, woke: true, activity: '', triggers, symptoms: [], note, approximate: false,
               updated: '2026-02-10T02:41:00Z' }));
             const text = toCsv({ entries, water: [], routines: [] });
             const back = fromCsv(text);
             return { text, notes: back.entries.map((e) => e.note), triggers: back.entries.map((e) => e.triggers) };
           }""",
        [notes, triggers],
    )


def test_no_cell_or_part_of_a_cell_runs_as_a_formula(browser):
    page = browser.open("/diary")
    result = run_csv_module(page, NOTES, TRIGGERS)
    text = result["text"].lstrip("\ufeff")
    for delimiter in (",", ";", "\t"):  # how spreadsheets in different locales split the lines
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter):
            for cell in row:
                assert not RISKY.match(cell.lstrip("\t\r\n")), (delimiter, cell)
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert len(rows) == 1 + len(NOTES)  # every separator inside a note stayed inside its quoted cell
    for row in rows[1:]:
        for cell in row:
            for part in re.split(r"[;,\t\r\n]", cell):
                assert not RISKY.match(part), (cell, part)
    assert result["notes"] == NOTES
    assert result["triggers"] == [TRIGGERS] * len(NOTES)
    assert browser.console_errors == []
