"""The speed suite's report states the bar per table from the measured medians."""

from pseudolabel.bench.speed import MAX_RATIO, markdown


def test_speed_markdown_states_the_bar_per_table():
    results = {"rows": 30_000, "columns": 100, "labels_per_class": 10, "repeats": 3, "threads": "defaults",
               "command": "pseudolabel bench --suite speed", "date": "d", "git": "abc", "tables": {
                   "synthetic": {"median_seconds": {"sklearn": 2.0, "pseudolabel": 4.0}, "ratio": 2.0, "bar_met": True,
                                 "load_before": 0.5, "load_after": 0.7},
                   "mnist": {"median_seconds": {"sklearn": 1.0, "pseudolabel": 7.5}, "ratio": 7.5,
                             "bar_met": 7.5 <= MAX_RATIO},
                   "broken": {"error": "MemoryError"}}}
    text = "\n".join(markdown(results))
    assert "| synthetic | 2.00 | 4.00 | 2.00 | met | 0.5/0.7 |" in text
    assert "| mnist | 1.00 | 7.50 | 7.50 | not met |" in text
    assert "failed: MemoryError" in text and "`pseudolabel bench --suite speed`" in text
