"""Reading tables (delimiters, encodings, missing tokens, line numbers) and the target policy."""

import numpy as np
import pandas as pd
import pytest

from pseudolabel.data.io import (
    InputError,
    atomic_path,
    encode_target,
    load_table,
    read_table,
    sniff_delimiter,
    split_table,
    typed_ids,
)


def _csv(tmp_path, text: str, name: str = "d.csv", encoding: str = "utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def _target(tmp_path, cells: list[str], name="y"):
    """A CSV with one feature and the target ``cells`` (empty string = blank cell)."""
    body = "\n".join(f"{i},{c}" for i, c in enumerate(cells))
    t = load_table(_csv(tmp_path, f"x,{name}\n{body}\n"), text_columns=[name])
    return t, encode_target(t.frame[name], table=t)


# ---------------------------------------------------------------- the label policy (CSV: text cells)


@pytest.mark.parametrize(
    "cells,kind,dtype,classes",
    [
        (["0", "1", "", "2", "0", "1", "2", ""], "int", "Int64", [0, 1, 2]),
        (["1.0", "2.0", "", "1.0", "2.0"], "int", "Int64", [1, 2]),  # pandas writes ints with blanks so
        (["1", "1.0", "", "2", "2.00"], "int", "Int64", [1, 2]),  # same number, plain decimals: one label
        (["-1", "1", "", "-1", "1"], "int", "Int64", [-1, 1]),  # -1 is a class, not a marker
        (["True", "false", "", "TRUE", "False"], "bool", "boolean", [False, True]),
        (["cat", "dog", "", "cat", "dog"], "str", None, ["cat", "dog"]),
        (["01", "02", "", "01", "02"], "str", None, ["01", "02"]),  # codes with leading zeros stay text
        ([" a ", "b", "NA", "a", " b"], "str", None, ["a", "b"]),  # spaces stripped, NA = unlabeled
    ],
)
def test_csv_label_policy(tmp_path, cells, kind, dtype, classes):
    _, target = _target(tmp_path, cells)
    assert target.codec.kind == kind
    assert target.codec.values == classes
    if dtype is not None:
        assert str(target.codec.dtype) == dtype
    assert target.labeled.tolist() == [c.strip() not in ("", "NA") for c in cells]


@pytest.mark.parametrize(
    "cells,clashing",
    [
        (["1", "01", "", "2", "2", "1"], ["'1' (lines 2, 7)", "'01' (line 3)"]),
        (["1", "1.0", "01", "", "2", "2"], ["'1' (line 2)", "'1.0' (line 3)", "'01' (line 4)"]),
        (["a", "+1", "1", "", "a"], ["'+1' (line 3)", "'1' (line 4)"]),
    ],
)
def test_same_number_spelled_differently_is_refused_with_lines(tmp_path, cells, clashing):
    with pytest.raises(InputError) as err:
        _target(tmp_path, cells)
    msg = str(err.value)
    assert "spells the same number in different ways" in msg and "file line numbers" in msg
    for part in clashing:
        assert part in msg


def test_parquet_string_labels_are_exact_but_clashes_refused(tmp_path):
    y = pd.Series(["1", None, "2", "1", "2"], name="y", dtype=object)
    t = encode_target(y)
    assert t.codec.kind == "str" and t.codec.values == ["1", "2"]
    with pytest.raises(InputError, match=r"'1' \(rows 1, 6\) and '1.0' \(row 3\)"):
        encode_target(pd.Series(["1", None, "1.0", "2", "2", "1"], name="y"))


@pytest.mark.parametrize(
    "series,kind,values,dtype",
    [
        (pd.Series([1.0, np.nan, 2.0, 1.0, 2.0]), "float", [1.0, 2.0], "float64"),
        (pd.Series(pd.array([3, None, 7, 3, 7], dtype="Int8")), "int", [3, 7], "Int8"),
        (pd.Series(pd.array([3, None, 7, 3, 7], dtype="UInt16")), "int", [3, 7], "UInt16"),
        (pd.Series([True, None, False, True, False]), "bool", [False, True], "boolean"),
        (pd.Series(pd.array([True, None, False, True, False], dtype="boolean")), "bool", [False, True], "boolean"),
        (pd.Series(pd.Categorical(["b", None, "a", "b", "a"], categories=["b", "a", "z"])), "category", ["a", "b"], "category"),
        (pd.Series(["x", None, "y", "x", "y"], dtype="string"), "str", ["x", "y"], "string"),
    ],
)
def test_typed_targets_come_back_in_their_dtype(series, kind, values, dtype):
    t = encode_target(series.rename("y"))
    assert t.codec.kind == kind and t.codec.values == values
    col = t.codec.column(np.array([0, 1, -1]), t.codec.classes)
    assert str(col.dtype) == dtype
    assert col.iloc[:2].tolist() == values and col.isna().tolist() == [False, False, True]
    if kind == "category":
        assert list(col.dtype.categories) == ["b", "a", "z"]  # the user's categories, in the user's order


@pytest.mark.parametrize(
    "series,message",
    [
        (pd.Series([None, None, None]), "nothing is labeled"),
        (pd.Series(["a", "b", "a", "b"]), "everything is labeled"),
        (pd.Series([-1, 1, -1, 1]), "-1 is a class here"),
        (pd.Series(["a", None, "a", None]), "only one class is labeled"),
        (pd.Series(["a", "b", None, "a", "c"]), "fewer than 2 labeled rows"),
        (pd.Series([0.5, 1.5, np.nan, 0.5, 1.5]), "not whole"),
        (pd.Series([1.0, np.inf, np.nan, 1.0, 2.0, 2.0]), "inf values at row 2"),
        (pd.Series([1, "a", None, 1, "a"], dtype=object), "mixes label types"),
        (pd.Series(pd.to_datetime(["2020-01-01", None, "2020-01-02"])), "labels must be integers, booleans or text"),
    ],
)
def test_target_refusals_are_named(series, message):
    with pytest.raises(InputError, match=message):
        encode_target(series.rename("y"))


def test_codec_maps_model_classes_by_value_not_position():
    t = encode_target(pd.Series([2.0, np.nan, 10.0, 2.0, 10.0], name="y"))
    assert t.codec.user_values(np.array([10, 2])) == [10.0, 2.0]
    with pytest.raises(RuntimeError, match="not a label"):
        t.codec.user_values([3])


# ---------------------------------------------------------------- reading


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_delimiter_is_sniffed(tmp_path, sep):
    text = sep.join(["a", "b", "c"]) + "\n" + "\n".join(sep.join(["1", "x y", str(i)]) for i in range(5)) + "\n"
    t = load_table(_csv(tmp_path, text))
    assert t.sep == sep and list(t.frame.columns) == ["a", "b", "c"] and len(t.frame) == 5


def test_sniffing_prefers_consistent_splits_and_the_suffix_default():
    assert sniff_delimiter('a;b\n"1,5";2\n"2,5";3\n', ",") == ";"  # commas inside quotes do not count
    assert sniff_delimiter("a\n1\n2\n", "\t") == "\t"  # one column: the suffix's delimiter
    assert sniff_delimiter("a,b\n1,2\n", "\t") == ","


def test_explicit_sep_and_named_separators(tmp_path):
    p = _csv(tmp_path, "a;b\n1;2\n")
    assert list(load_table(p, sep="semicolon").frame.columns) == ["a", "b"]
    assert list(load_table(p, sep=",").frame.columns) == ["a;b"]
    with pytest.raises(InputError, match="--sep must be one character"):
        load_table(p, sep=";;")


def test_missing_tokens_and_extra_na_values(tmp_path):
    p = _csv(tmp_path, "a,b\n1,x\n?,y\nNA,n/a\n-,missing\n 5 , z\n")
    t = load_table(p)
    assert pd.api.types.is_float_dtype(t.frame["a"]) and t.frame["a"].isna().sum() == 3  # ? NA - → missing
    assert t.frame["b"].isna().sum() == 1
    t = load_table(p, na_values=["missing"])
    assert t.frame["b"].isna().sum() == 2


def test_encoding_default_bom_utf16_and_a_named_error(tmp_path):
    text = "name,y\ncafé,1\nnaïve,\n"
    assert load_table(_csv(tmp_path, "\ufeff" + text, "bom.csv")).frame.columns[0] == "name"
    assert load_table(_csv(tmp_path, text, "u16.csv", "utf-16")).frame["name"].tolist() == ["café", "naïve"]
    latin = _csv(tmp_path, text, "latin.csv", "latin-1")
    with pytest.raises(InputError, match=r"not valid UTF-8 text \(byte\(s\) e9 at line 2\).*--encoding"):
        load_table(latin)
    assert load_table(latin, encoding="latin-1").frame["name"].tolist() == ["café", "naïve"]
    with pytest.raises(InputError, match="--encoding 'klingon' is not an encoding"):
        load_table(latin, encoding="klingon")


@pytest.mark.parametrize(
    "content,message",
    [
        (b"", "is empty"),
        (b"\n\n", "no header line"),
        (b"a,a\n1,2\n", "duplicate column name"),
        (b"PAR1\x00\x00\x01binary", "NUL bytes"),
        (b"a,b\n1,2\n3,4,5\n", "Expected 2 fields in line 3"),
    ],
)
def test_unreadable_csvs_are_named(tmp_path, content, message):
    p = tmp_path / "bad.csv"
    p.write_bytes(content)
    with pytest.raises(InputError, match=message):
        load_table(p)


def test_damaged_parquet_and_unknown_types(tmp_path):
    p = tmp_path / "bad.parquet"
    p.write_bytes(b"not parquet at all")
    with pytest.raises(InputError, match="could not read .* as Parquet"):
        load_table(p)
    with pytest.raises(InputError, match="unknown file type '.xlsx'"):
        load_table(tmp_path / "x.xlsx")
    with pytest.raises(InputError, match="file not found"):
        load_table(tmp_path / "absent.csv")
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(InputError, match="is a folder"):
        load_table(tmp_path / "dir.csv")


def test_line_numbers_follow_the_file(tmp_path):
    # a quoted field spanning two lines and a blank line shift the data rows' file lines
    p = _csv(tmp_path, 'a,b\n1,"two\nlines"\n\n2,x\n3,y\n')
    t = load_table(p)
    assert len(t.frame) == 3 and t.line_numbers().tolist() == [2, 5, 6]
    assert t.where(np.array([False, True, True])) == "lines 5, 6 (file line numbers in d.csv; the header is line 1)"
    assert t.relocate("bad at rows 0, 2; fix") == "bad at lines 2, 6 (file line numbers in d.csv; the header is line 1); fix"
    pq = tmp_path / "d.parquet"
    t.frame.to_parquet(pq)
    assert load_table(pq).where(np.array([True, False, True])) == "rows 1, 3 (data rows of d.parquet counted from 1)"


def test_ids_keep_leading_zeros_and_duplicates_name_lines(tmp_path):
    p = _csv(tmp_path, "id,x,y\n007,1,a\n8,2,\n009,3,a\n")
    t = load_table(p, text_columns=["id"])
    s = split_table(t, "y", "id")
    assert typed_ids(s.ids, t).tolist() == ["007", "8", "009"]
    t2 = load_table(_csv(tmp_path, "id,x,y\n7,1,a\n8,2,\n", "ints.csv"), text_columns=["id"])
    assert typed_ids(split_table(t2, "y", "id").ids, t2).tolist() == [7, 8]
    dup = load_table(_csv(tmp_path, "id,x,y\n1,1,a\n2,2,\n1,3,b\n", "dup.csv"))
    with pytest.raises(InputError, match=r"duplicate values at lines 2, 4"):
        split_table(dup, "y", "id")
    with pytest.raises(InputError, match=r"empty at line 3"):
        split_table(load_table(_csv(tmp_path, "id,x,y\n1,1,a\n,2,\n", "e.csv")), "y", "id")


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"target": "nope"}, "--target 'nope' is not a column"),
        ({"target": "y", "id_column": "nope"}, "--id 'nope' is not a column"),
        ({"target": "y", "drop": ["y"]}, "--drop 'y' is also the --target column"),
        ({"target": "y", "drop": ["x"]}, "no feature columns"),
        ({"target": "y", "text": ["zz"]}, r"--text column\(s\) \['zz'\] not in DATA"),
    ],
)
def test_split_table_checks_names(kwargs, message):
    with pytest.raises(InputError, match=message):
        split_table(pd.DataFrame({"x": [1, 2], "y": ["a", None]}), **kwargs)


def test_header_only_table(tmp_path):
    t = load_table(_csv(tmp_path, "x,y\n"))
    with pytest.raises(InputError, match="header but no rows"):
        split_table(t, "y")


def test_read_table_is_the_frame(tmp_path):
    df = pd.DataFrame({"x": [1, 2, 3], "y": ["a", " ", "b"]})
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
