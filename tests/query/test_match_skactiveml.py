"""Where scikit-activeml implements a strategy deterministically, ours selects the same rows."""

import numpy as np
import pytest

skactiveml = pytest.importorskip("skactiveml", reason="scikit-activeml (the bench extra) is not installed")
from skactiveml.classifier import SklearnClassifier  # noqa: E402
from skactiveml.pool import Badge, CoreSet, TypiClust, UncertaintySampling  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

from pseudolabel.core import make  # noqa: E402

N, D, K, N_LAB, BATCH = 150, 5, 3, 9, 8


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(7)
    centers = rng.normal(scale=2.0, size=(K, D))
    y_true = rng.integers(0, K, N)
    X = centers[y_true] + rng.normal(size=(N, D))
    y = np.full(N, np.nan)
    lab = np.arange(N_LAB)
    y[lab] = np.arange(N_LAB) % K
    clf = SklearnClassifier(LogisticRegression(), classes=np.arange(K)).fit(X, y)
    unl = np.flatnonzero(np.isnan(y))
    return X, y, lab, unl, clf


@pytest.mark.parametrize("ours, theirs", [("entropy_sampling", "entropy"), ("margin_sampling", "margin_sampling"),
                                          ("least_confidence", "least_confident")])
def test_uncertainty_sampling_matches(problem, ours, theirs):
    X, y, lab, unl, clf = problem
    expected = UncertaintySampling(method=theirs, random_state=0).query(X, y, clf, fit_clf=False, batch_size=BATCH)
    p = clf.predict_proba(X[unl])
    got = make("query", f"{ours}(diversity='none')").query(p, BATCH).indices
    assert list(unl[got]) == list(expected)


def test_coreset_matches(problem):
    X, y, lab, unl, clf = problem
    expected = CoreSet(random_state=0).query(X, y, batch_size=BATCH)
    got = make("query", "coreset").query(np.full((len(unl), K), 1 / K), BATCH, features=X[unl], labeled_features=X[lab]).indices
    assert list(unl[got]) == list(expected)


def test_typiclust_matches_with_the_same_clustering():
    # cold start on blobs of distinct sizes (scikit-activeml breaks ties in cluster size at random,
    # so only a tie-free problem is deterministic); both cluster with KMeans(random_state=0)
    rng = np.random.default_rng(1)
    sizes = [40, 35, 30, 25, 20, 15, 12, 10]
    X = np.vstack([rng.normal(scale=0.5, size=(n, D)) + 10 * rng.normal(size=D) for n in sizes])
    y = np.full(len(X), np.nan)
    expected = TypiClust(random_state=0, k=5).query(X, y, batch_size=len(sizes))
    got = make("query", "typiclust(k=5)").query(np.full((len(X), K), 1 / K), len(sizes), features=X, random_state=0).indices
    assert list(got) == list(expected)
    assert sorted(np.searchsorted(np.cumsum(sizes), got, side="right").tolist()) == list(range(len(sizes)))


def test_badge_matches_with_the_same_random_stream(problem):
    X, y, lab, unl, clf = problem
    expected = Badge(random_state=3).query(X, y, clf, fit_clf=False, batch_size=BATCH)
    # scikit-activeml seeds its RandomState with randint(1, 2**31) * (n_unlabeled + 1) of the given seed
    seed = (np.random.RandomState(3).randint(1, 2**31) * (len(unl) + 1)) % (2**31)
    got = make("query", "badge").query(clf.predict_proba(X[unl]), BATCH, features=X[unl], random_state=seed).indices
    assert list(unl[got]) == list(expected)
