import numpy as np
import pandas as pd
import pytest

from pseudolabel import REJECTED, UNKNOWN, PseudoLabels


def make(n=5):
    probs = np.array([[0.9, 0.1], [0.4, 0.6], [0.5, 0.5], [0.2, 0.8], [0.7, 0.3]])[:n]
    return PseudoLabels.from_probs(probs, np.array([1.0, 0.5, 0.0, 1.0, 0.2])[:n], ["neg", "pos"], source="graph", round=2, index=np.arange(10, 10 + n))


def test_from_probs_marks_rejected_and_maps_user_labels():
    pl = make()
    np.testing.assert_array_equal(pl.label, [0, 1, REJECTED, 1, 0])
    assert list(pl.labels()) == ["neg", "pos", None, "pos", "neg"]
    np.testing.assert_allclose(pl.confidence, [0.9, 0.6, 0.5, 0.8, 0.7], rtol=1e-6)
    assert pl.accepted.tolist() == [True, True, False, True, True]
    assert pl.summary()["accepted"] == 4


def test_validation_errors():
    with pytest.raises(ValueError, match="weight"):
        PseudoLabels.from_probs(np.full((2, 2), 0.5), np.array([1.5, 0.0]), ["a", "b"])
    with pytest.raises(ValueError, match="classes_"):
        PseudoLabels.from_probs(np.full((2, 2), 0.5), np.ones(2), ["a"])
    with pytest.raises(ValueError, match="label must lie"):
        PseudoLabels(np.full((1, 2), 0.5), [5], [0.5], [1.0], ["x"], [0], ["a", "b"])


def test_concat_with_human_sorted_by_index_and_frame(tmp_path):
    human = PseudoLabels.from_human(np.array([1, 0]), ["neg", "pos"], index=np.array([3, 12]))
    both = PseudoLabels.concat([human, make()])
    assert both.index.tolist() == sorted(both.index.tolist())
    frame = both.to_frame(ids=[f"id{i}" for i in range(20)], probs=True)
    assert frame.columns.tolist()[:6] == ["id", "label", "confidence", "weight", "source", "round"]
    assert {"p_neg", "p_pos"} <= set(frame.columns)
    assert (frame.loc[frame.source == "human", "weight"] == 1).all()
    path = both.to_parquet(tmp_path / "x.parquet", ids=[f"id{i}" for i in range(20)])
    back = pd.read_parquet(path)
    assert len(back) == len(both)
    assert back.loc[back.id == "id3", "label"].item() == "pos"


def test_unknown_label_and_subset():
    pl = make()
    pl.label[1] = UNKNOWN
    assert pl.labels()[1] == "unknown"
    sub = pl[np.array([True, False, True, False, False])]
    assert len(sub) == 2 and sub.index.tolist() == [10, 12]
