"""Estimator and prototype teachers score in bounded batches: same probabilities as one call,
and no call to the underlying model ever sees more than ``batch_rows`` rows."""

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from pseudolabel.ops.batching import batched_rows, iter_batches
from pseudolabel.teachers import EstimatorTeacher, PrototypeTeacher


class Spy(LogisticRegression):
    """A classifier that records the size of each predict_proba call."""

    calls: list = []

    def predict_proba(self, X):
        Spy.calls.append(X.shape[0])
        return super().predict_proba(X)


def data(rng, n=1003):
    y_true = rng.integers(0, 3, n)
    X = rng.normal(size=(n, 4)) + y_true[:, None] * 2.0
    y = np.full(n, -1)
    y[:60] = y_true[:60]
    return X, y


def test_estimator_teacher_batches_equal_one_call(rng):
    X, y = data(rng)
    whole = EstimatorTeacher(Spy(), batch_rows=10**9).fit(X, y, n_classes=3)
    Spy.calls = []
    batched = EstimatorTeacher(Spy(), batch_rows=100).fit(X, y, n_classes=3)
    Spy.calls = []
    P = batched.predict_proba(X)
    assert max(Spy.calls) <= 100 and sum(Spy.calls) == len(X) and len(Spy.calls) == 11
    np.testing.assert_allclose(P, whole.predict_proba(X), rtol=0, atol=1e-12)
    # a DataFrame is sliced by position; a stream of batches gives the same rows
    np.testing.assert_allclose(batched.predict_proba(pd.DataFrame(X)), P, rtol=0, atol=1e-12)
    streamed = np.vstack(list(batched.iter_proba(np.array_split(X, 7))))
    np.testing.assert_allclose(streamed, P, rtol=0, atol=1e-12)


def test_prototype_teacher_batches_equal_one_call(rng):
    X, y = data(rng)
    whole = PrototypeTeacher(n_prototypes=2, random_state=0, batch_rows=10**9).fit(X, y, n_classes=3)
    batched = PrototypeTeacher(n_prototypes=2, random_state=0, batch_rows=64).fit(X, y, n_classes=3)
    P = batched.predict_proba(X)
    np.testing.assert_allclose(P, whole.predict_proba(X), rtol=0, atol=1e-12)
    np.testing.assert_allclose(np.vstack(list(batched.iter_proba(np.array_split(X, 5)))), P, rtol=0, atol=1e-12)
    np.testing.assert_allclose(P.sum(1), 1)


def test_batched_rows_shapes_and_bad_sizes():
    X = np.arange(10.0)[:, None]
    sizes = []
    out = batched_rows(lambda b: sizes.append(len(b)) or b * 2, X, 3)
    assert sizes == [3, 3, 3, 1]
    np.testing.assert_array_equal(out, X * 2)
    assert [b.tolist() for b in iter_batches(lambda b: b + 1, [X[:2], X[2:3]])] == [[[1.0], [2.0]], [[3.0]]]
    with pytest.raises(ValueError, match="batch_rows"):
        batched_rows(lambda b: b, X, 0)
