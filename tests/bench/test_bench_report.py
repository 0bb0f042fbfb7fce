"""The teacher × selector pivot of the matrix suite, on a results dict whose answer is known."""

from pseudolabel.bench.report import markdown


def _run(method, acc, seed, prec=0.9, cov=0.5):
    return {"dataset": "toy", "budget": 4, "method": method, "seed": seed, "status": "ok",
            "metrics": {"accuracy": acc, "macro_f1": acc, "pl_precision": prec, "pl_coverage": cov,
                        "seconds": 1.0, "fit_mb": 1.0, "peak_mb": 2.0}}


def test_matrix_pivot_grid_gain_and_rank():
    accs = {"supervised": 0.50, "m_graph_all": 0.90, "m_graph_flexmatch": 0.80, "m_self_all": 0.60, "m_self_flexmatch": 0.70}
    runs = [_run(m, a + d, seed) for m, a in accs.items() for seed, d in ((0, -0.01), (1, 0.01))]
    fam = {m: {"family": "reference" if m == "supervised" else "matrix", "description": m} for m in accs}
    results = {"suite": "matrix", "runs": runs, "methods": fam,
               "datasets": {"toy": {"n_train": 10, "n_test": 5, "n_classes": 2, "features": "raw"}}}
    md = markdown(results)
    assert "## Teacher × selector" in md
    assert "### toy, 4 labels/class (supervised only: 50.0)" in md
    assert "| teacher | all | flexmatch |" in md
    assert "| graph | **90.0** · 90/50 | 80.0 · 90/50 |" in md
    assert "| self | 60.0 · 90/50 | 70.0 · 90/50 |" in md
    # gain over supervised in points, rank within the one grid
    assert "| graph | +40.0 · rank 1.0 | +30.0 · rank 2.0 |" in md
    assert "| self | +10.0 · rank 4.0 | +20.0 · rank 3.0 |" in md


def test_no_matrix_section_without_matrix_methods():
    results = {"suite": "x", "runs": [_run("supervised", 0.5, 0)], "methods": {"supervised": {"family": "reference", "description": ""}},
               "datasets": {"toy": {"n_train": 10, "n_test": 5, "n_classes": 2, "features": "raw"}}}
    assert "Teacher × selector" not in markdown(results)


def test_matrix_pivot_shows_a_dash_when_nothing_was_accepted():
    runs = [_run("supervised", 0.5, 0), _run("m_graph_all", 0.6, 0, prec=None, cov=0.0)]
    fam = {"supervised": {"family": "reference", "description": ""}, "m_graph_all": {"family": "matrix", "description": ""}}
    md = markdown({"suite": "matrix", "runs": runs, "methods": fam,
                   "datasets": {"toy": {"n_train": 10, "n_test": 5, "n_classes": 2, "features": "raw"}}})
    assert "| graph | **60.0** · –/0 |" in md and "nan" not in md
