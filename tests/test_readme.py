"""The README's headline table: every number from the held-out test split, with its command,
labels, date and commit (the rules in docs/benchmarks.md)."""
import re
from pathlib import Path

README = Path(__file__).parents[1] / "README.md"
RANGES_SINCE = "2026-12-01"  # the test split exists from this date: planning numbers measured earlier are dev numbers


def _rows() -> list[dict]:
    text = README.read_text()
    start = text.index("## Results")
    section = text[start:text.index("\n## ", start + 1)]
    lines = [ln for ln in section.splitlines() if ln.startswith("|") and not ln.startswith("|---")]
    header = [c.strip() for c in lines[0].strip("|").split("|")]
    assert header == ["what", "result", "labels", "command", "measured"]
    rows = [dict(zip(header, (c.strip() for c in ln.strip("|").split("|")))) for ln in lines[1:]]
    assert all(len(r) == len(header) for r in rows) and len(rows) >= 5
    return rows


def test_every_headline_row_has_a_command_labels_a_date_and_a_commit():
    for row in _rows():
        assert re.fullmatch(r"`(python benchmarks/\w+\.py|hjepa) [^`]*`( and `[^`]+`)?", row["command"]) or \
            row["command"] == "`hjepa demo`", row["command"]
        assert "--split dev" not in row["command"] and "--split dev" not in row["result"]
        assert re.fullmatch(r"no|n/a|yes: \w.+", row["labels"]), row["labels"]  # n/a: no planning involved
        dates = re.findall(r"20\d\d-\d\d-\d\d", row["measured"])
        assert dates and re.search(r"\b[0-9a-f]{7}\b", row["measured"]), row["measured"]
        if row["labels"] != "n/a":  # a planning number: measured on the test split, which exists since RANGES_SINCE
            assert max(dates) >= RANGES_SINCE, row["what"]


def test_the_main_headline_number_is_label_free():
    assert any("Two-Rooms" in r["what"] for r in _rows() if r["labels"] == "no")
