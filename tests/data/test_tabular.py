"""TabularEncoder: column typing, one pipeline per type, 0/1 features left unscaled, clear errors."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from pseudolabel.data import TabularEncoder
from pseudolabel.data import datasets as ds


def fake_embed(texts):
    """A deterministic 3-d 'embedding' (module level, so an encoder holding it pickles)."""
    return np.array([[len(t), t.count(" "), sum(map(ord, t)) % 7] for t in texts], dtype=np.float64)


@pytest.fixture
def table():
    return pd.DataFrame(
        {
            "age": [23.0, np.nan, 35.0, 41.0, 52.0, 60.0, 29.0, 33.0],
            "income": ["1.5", "?", "3", "4.25", "5", "6", "2", "n/a"],  # numbers with missing tokens
            "owner": [True, False, True, True, False, False, True, False],
            "member": [0, 1, 1, 0, 1, 0, 0, 1],  # int 0/1 → binary
            "children": [0, 1, 2, 3, 0, 1, 2, 3],  # few distinct integers: stays numeric
            "color": ["red", "red", "blue", None, "green", "red", "blue", "violet"],  # violet is rare
            "note": [f"free text number {i}" for i in range(8)],  # 8 distinct strings
        }
    )


def col(enc, X, name):
    return X[:, list(enc.feature_names_out_).index(name)]


# ---------------------------------------------------------------------------- typing and layout
def test_mixed_columns_are_typed_and_laid_out_in_column_order(table):
    enc = TabularEncoder(max_categories=5, text=["note"], embed=fake_embed)
    X = enc.fit_transform(table)
    assert enc.columns_ == list(table.columns)
    assert enc.column_kinds_ == {"age": "numeric", "income": "numeric", "owner": "binary", "member": "binary",
                                 "children": "numeric", "color": "categorical", "note": "text"}
    assert list(enc.feature_names_out_) == [
        "age", "age=<missing>", "income", "income=<missing>", "owner", "member", "children",
        "color=blue", "color=green", "color=red", "color=violet", "color=<missing>", "note[0]", "note[1]", "note[2]",
    ]
    assert enc.binary_mask_.tolist() == [False, True, False, True, True, True, False,
                                         True, True, True, True, True, False, False, False]
    assert X.dtype == np.float64 and X.flags["C_CONTIGUOUS"] and X.shape == (8, 15)
    assert enc.categories_ == {"color": ["blue", "green", "red", "violet", None]}
    np.testing.assert_array_equal(X[:, -3:], fake_embed(table["note"].tolist()))
    np.testing.assert_array_equal(enc.get_feature_names_out(), enc.feature_names_out_)


def test_numeric_imputed_then_standardised_on_the_fit_rows(table):
    enc = TabularEncoder(max_categories=8)
    X = enc.fit_transform(table)
    for name in ("age", "income", "children"):
        np.testing.assert_allclose(col(enc, X, name).mean(), 0.0, atol=1e-12)
        np.testing.assert_allclose(col(enc, X, name).std(), 1.0, atol=1e-12)
    # the missing cells got the median of the others, then the same scaling
    age = table["age"].to_numpy()
    filled = np.where(np.isnan(age), np.nanmedian(age), age)
    np.testing.assert_allclose(col(enc, X, "age"), (filled - filled.mean()) / filled.std())
    assert col(enc, X, "age=<missing>").tolist() == [0, 1, 0, 0, 0, 0, 0, 0]
    assert col(enc, X, "income=<missing>").tolist() == [0, 1, 0, 0, 0, 0, 0, 1]  # "?" and "n/a"
    assert "children=<missing>" not in enc.feature_names_out_  # no missing at fit: no indicator


def test_one_hot_and_binary_features_are_exactly_zero_one_not_scaled(table):
    enc = TabularEncoder(max_categories=8)
    X = enc.fit_transform(table)
    assert set(np.unique(X[:, enc.binary_mask_])) == {0.0, 1.0}
    assert col(enc, X, "owner").tolist() == table["owner"].astype(float).tolist()
    assert col(enc, X, "member").tolist() == table["member"].astype(float).tolist()
    assert col(enc, X, "color=violet").tolist() == [0, 0, 0, 0, 0, 0, 0, 1]  # a rare category stays 1, not ~2.6
    assert col(enc, X, "color=<missing>").tolist() == [0, 0, 0, 1, 0, 0, 0, 0]  # missing is its own category
    block = X[:, [n.startswith("color=") for n in enc.feature_names_out_]]
    assert block.sum(axis=1).tolist() == [1.0] * 8


def test_min_frequency_drops_rare_categories_to_an_all_zero_row(table):
    enc = TabularEncoder(max_categories=8, min_frequency=2)
    X = enc.fit_transform(table)
    assert enc.categories_["color"] == ["blue", "red"]  # green, violet, missing: seen once each
    block = X[:, [n.startswith("color=") for n in enc.feature_names_out_]]
    assert block.sum(axis=1).tolist() == [1, 1, 1, 0, 0, 1, 1, 0]
    assert enc.unseen_counts_ == {"color": 0, "note": 0}  # rare is not unseen


def test_unseen_category_at_transform_is_a_zero_block_and_counted(table):
    enc = TabularEncoder(max_categories=8).fit(table)
    new = table.copy()
    new["color"] = ["red", "pink", "pink", "blue", None, "teal", "red", "violet"]
    X = enc.transform(new)
    block = X[:, [n.startswith("color=") for n in enc.feature_names_out_]]
    assert block.sum(axis=1).tolist() == [1, 0, 0, 1, 1, 0, 1, 1]
    assert enc.unseen_counts_["color"] == 3 and enc.unseen_counts_["note"] == 0
    enc.transform(table)
    assert enc.unseen_counts_["color"] == 0  # recomputed by every transform


def test_missing_at_transform_without_missing_at_fit_counts_as_unseen():
    enc = TabularEncoder().fit(pd.DataFrame({"c": ["a", "b", "a"]}))
    X = enc.transform(pd.DataFrame({"c": ["a", "?", None]}))
    assert X.tolist() == [[1, 0], [0, 0], [0, 0]] and enc.unseen_counts_ == {"c": 2}


def test_integer_columns_with_few_values_stay_numeric_and_overrides_win():
    frame = pd.DataFrame({"stars": [1, 2, 3, 2, 1, 3], "zip": [10, 20, 30, 10, 20, 30], "flag": [0, 1, 0, 1, 0, 1]})
    assert TabularEncoder().fit(frame).column_kinds_ == {"stars": "numeric", "zip": "numeric", "flag": "binary"}
    enc = TabularEncoder(categorical=["zip"], numeric="flag").fit(frame)  # a single name is accepted too
    assert enc.column_kinds_ == {"stars": "numeric", "zip": "categorical", "flag": "numeric"}
    assert [n for n in enc.feature_names_out_ if n.startswith("zip")] == ["zip=10", "zip=20", "zip=30"]
    # a declared categorical number column keeps its categories when it turns float (NaN elsewhere)
    floaty = frame.astype({"zip": float})
    floaty.loc[0, "zip"] = np.nan
    X = enc.transform(floaty)
    assert enc.unseen_counts_ == {"zip": 1} and X[1, list(enc.feature_names_out_).index("zip=20")] == 1


def test_category_and_string_dtypes():
    frame = pd.DataFrame({
        "code": pd.Series(["1", "2", "3", "1"], dtype="category"),  # categories that parse: numeric
        "grade": pd.Series(["A", "B", "A", pd.NA], dtype="string"),
        "city": pd.Series(["x", "y", "x", "y"], dtype="category"),
    })
    enc = TabularEncoder().fit(frame)
    assert enc.column_kinds_ == {"code": "numeric", "grade": "categorical", "city": "categorical"}
    assert list(enc.feature_names_out_) == ["code", "grade=A", "grade=B", "grade=<missing>", "city=x", "city=y"]


def test_numpy_array_is_all_numeric_columns():
    arr = np.array([[1.0, 0.0, 5.0], [2.0, 1.0, 5.0], [3.0, 1.0, 5.0]])
    enc = TabularEncoder().fit(arr)
    assert enc.columns_ == ["x0", "x1", "x2"]
    assert enc.column_kinds_ == {"x0": "numeric", "x1": "binary", "x2": "numeric"}
    X = enc.transform(arr)
    assert X[:, 1].tolist() == [0, 1, 1] and X[:, 2].tolist() == [0, 0, 0]  # constant column → 0
    np.testing.assert_allclose(X[:, 0], [-1.224744871391589, 0, 1.224744871391589])


# ---------------------------------------------------------------------------- text columns
def test_high_cardinality_string_is_an_error_naming_the_fix(table):
    with pytest.raises(ValueError, match=r"column 'note' is non-numeric with 8 distinct values.*text=\['note'\]"):
        TabularEncoder(max_categories=5).fit(table)


def test_text_column_with_a_fake_embedder_fit_then_transform(table):
    calls = []

    def embed(texts):
        calls.append(len(texts))
        return fake_embed(texts)

    enc = TabularEncoder(max_categories=5, text=["note"], embed=embed).fit(table)
    assert calls == [1]  # fit only learns the width from one text
    X = enc.transform(table)
    assert calls == [1, 8]
    np.testing.assert_array_equal(X, TabularEncoder(max_categories=5, text=["note"], embed=fake_embed).fit_transform(table))
    assert not enc.binary_mask_[[n.startswith("note[") for n in enc.feature_names_out_]].any()


# ---------------------------------------------------------------------------- sklearn contract
def test_input_frame_is_not_modified(table):
    before = table.copy(deep=True)
    enc = TabularEncoder(max_categories=5, text=["note"], embed=fake_embed)
    enc.fit_transform(table)
    enc.fit(table).transform(table)
    pd.testing.assert_frame_equal(table, before)


def test_clone_and_pickle_give_identical_output(table):
    enc = TabularEncoder(max_categories=5, text=["note"], embed=fake_embed, min_frequency=1)
    X = enc.fit_transform(table)
    again = clone(enc)
    assert again.get_params() == enc.get_params() and not hasattr(again, "columns_")
    np.testing.assert_array_equal(again.fit(table).transform(table), X)
    loaded = pickle.loads(pickle.dumps(enc))
    np.testing.assert_array_equal(loaded.transform(table), X)
    np.testing.assert_array_equal(loaded.binary_mask_, enc.binary_mask_)


def test_pandas_output_via_set_output(table):
    enc = TabularEncoder(max_categories=8).set_output(transform="pandas")
    out = enc.fit_transform(table)
    assert list(out.columns) == list(enc.feature_names_out_)


# ---------------------------------------------------------------------------- errors
def test_errors_name_the_column_and_the_fix(table):
    enc = TabularEncoder(max_categories=8).fit(table)
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['color'\].*extra columns are ignored"):
        enc.transform(table.drop(columns=["color"]))
    bad = table.copy()
    bad["income"] = ["1", "2", "lots", "4", "5", "6", "7", "8"]
    with pytest.raises(ValueError, match=r"column 'income' is numeric \(at fit\) but has non-numeric value\(s\) 'lots' at rows 2; .*categorical=\['income'\]"):
        enc.transform(bad)
    inf = table.copy()
    inf["age"] = inf["age"].replace(41.0, np.inf)
    with pytest.raises(ValueError, match=r"column 'age' has inf values at rows 3"):
        enc.transform(inf)
    with pytest.raises(ValueError, match=r"column 'age' has inf values at rows 3"):
        TabularEncoder(max_categories=8).fit(inf)
    two = table.copy()
    two["member"] = [0, 1, 2, 0, 1, 0, 0, 1]
    with pytest.raises(ValueError, match=r"column 'member' was binary \(0/1\) at fit.*numeric=\['member'\]"):
        enc.transform(two)
    with pytest.raises(ValueError, match="no feature columns"):
        TabularEncoder().fit(pd.DataFrame(index=range(3)))
    with pytest.raises(ValueError, match=r"text=\['nope'\] is not a column of X"):
        TabularEncoder(text=["nope"]).fit(table)
    with pytest.raises(ValueError, match=r"column 'age' is listed in both numeric= and categorical="):
        TabularEncoder(numeric=["age"], categorical=["age"]).fit(table)
    with pytest.raises(ValueError, match=r"column 'color' is numeric \(as declared\) but has non-numeric value\(s\) 'red'.*do not list 'color' in numeric="):
        TabularEncoder(numeric=["color"], max_categories=8).fit(table)
    with pytest.raises(ValueError, match=r"numeric column\(s\) \['empty'\] have no values"):
        TabularEncoder().fit(pd.DataFrame({"a": [1.0, 2.0], "empty": ["?", None]}))


# ---------------------------------------------------------------------------- known answer on real data
def test_german_credit_unscaled_one_hot_beats_standardised_dummies():
    """25 labels per class, 5 draws: LogisticRegression on the encoder's output vs the common
    recipe (pd.get_dummies, then StandardScaler + LogisticRegression). The encoder is fitted on
    every train row without labels; the recipe's scaler sees the labeled rows, as in a pipeline."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    if not (ds.data_dir() / "tabular" / "german_credit.csv").exists():
        pytest.skip(f"real data not present at {ds.data_dir() / 'tabular'}")
    d = ds.load("german_credit")
    enc = TabularEncoder().fit(d.X_train)
    Etr, Ete = enc.transform(d.X_train), enc.transform(d.X_test)
    dummies = pd.get_dummies(pd.concat([d.X_train, d.X_test], ignore_index=True), dtype=float).to_numpy()
    Dtr, Dte = dummies[: len(d.X_train)], dummies[len(d.X_train):]
    ours, theirs = [], []
    for seed in range(5):
        lab = ds.sample_labels(d.y_train, 25, seed) >= 0
        ours.append(LogisticRegression().fit(Etr[lab], d.y_train[lab]).score(Ete, d.y_test))
        theirs.append(make_pipeline(StandardScaler(), LogisticRegression()).fit(Dtr[lab], d.y_train[lab]).score(Dte, d.y_test))
    assert np.mean(ours) >= np.mean(theirs), (ours, theirs)


def test_scikit_learn_estimator_checks():
    from sklearn.utils.estimator_checks import check_estimator

    # transform sets unseen_counts_ (by design: the caller reads it to warn about unseen categories)
    check_estimator(TabularEncoder(), expected_failed_checks={"check_dict_unchanged": "transform sets unseen_counts_"})
