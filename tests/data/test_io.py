import numpy as np
import pandas as pd
import pytest

from pseudolabel.data.io import (
    InputError,
    TableEncoder,
    atomic_path,
    encode_target,
    read_table,
    split_table,
)


def test_encoder_one_hot_and_column_check():
    df = pd.DataFrame({"x": [1.0, 2.0, 3.0], "c": ["a", "b", "a"], "flag": [True, False, True]})
    enc = TableEncoder().fit(df)
    X = enc.transform(df)
    assert X.shape == (3, 1 + 2 + 2)
    assert enc.feature_names_ == ["x", "c=a", "c=b", "flag=False", "flag=True"]
    with pytest.raises(InputError, match=r"lacks column\(s\) \['c'\]"):
        enc.transform(df.drop(columns=["c"]))
    unseen = enc.transform(pd.DataFrame({"x": [1.0], "c": ["zzz"], "flag": [True]}))
    np.testing.assert_array_equal(unseen[0, 1:3], [0, 0])  # unseen category → all zeros


def test_numeric_strings_are_numbers_and_median_impute():
    df = pd.DataFrame({"x": ["1", "2", None, "4"]})
    enc = TableEncoder(impute="median").fit(df)
    np.testing.assert_allclose(enc.transform(df).ravel(), [1, 2, 2, 4])
    with pytest.raises(InputError, match="missing/NaN"):
        TableEncoder().fit(df).transform(df)


def test_target_checks_and_float_labels():
    y = pd.Series([1.0, None, 2.0, 1.0, 2.0, None], name="t")
    out = encode_target(y)
    assert out.tolist() == [1, None, 2, 1, 2, None]
    with pytest.raises(InputError, match="everything is labeled"):
        encode_target(pd.Series([1, 2, 1, 2], name="t"))
    with pytest.raises(InputError, match="fewer than 2"):
        encode_target(pd.Series(["a", "a", "b", None], name="t"))


def test_split_table_blank_strings_are_unlabeled(tmp_path):
    df = pd.DataFrame({"x": [1, 2, 3], "y": ["a", " ", "b"]})
    t = split_table(df, "y")
    assert t.target.isna().tolist() == [False, True, False]
    p = tmp_path / "d.tsv"
    df.to_csv(p, sep="\t", index=False)
    assert read_table(p).shape == (3, 2)


def test_atomic_path_leaves_old_file_on_failure(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]
