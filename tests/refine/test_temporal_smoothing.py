import numpy as np
import pytest
from sklearn.base import clone

from pseudolabel.refine import ConfidenceDecay, LabelSmoothing, TemporalEnsemble, smooth_labels


def test_temporal_ema_known_answer_offline_rounds():
    a = np.array([[1.0, 0.0], [0.5, 0.5]])
    b = np.array([[0.0, 1.0], [0.5, 0.5]])
    ens = TemporalEnsemble(momentum=0.6)
    ens.update(a, idx=np.arange(2), full_pool=True)
    np.testing.assert_allclose(ens(a), a)  # first sight: no history
    ens.update(b, idx=np.arange(2), full_pool=True)
    np.testing.assert_allclose(ens(b), [[0.6, 0.4], [0.5, 0.5]])
    ens.update(b, full_pool=True)  # full pool without idx = arange(n)
    np.testing.assert_allclose(ens(b), [[0.36, 0.64], [0.5, 0.5]])


def test_temporal_ema_is_keyed_by_index_online():
    ens = TemporalEnsemble(momentum=0.5)
    ens.update(np.array([[1.0, 0.0]]), idx=[7])
    ens.update(np.array([[0.0, 1.0], [0.0, 1.0]]), idx=[3, 7])
    out = ens(np.array([[0.0, 1.0], [0.0, 1.0]]))
    np.testing.assert_allclose(out, [[0.0, 1.0], [0.5, 0.5]])  # row 3 new, row 7 averaged
    np.testing.assert_allclose(ens(np.array([[0.2, 0.8]]), idx=[7]), [[0.5, 0.5]])
    np.testing.assert_allclose(ens(np.array([[0.2, 0.8]]), idx=[99]), [[0.2, 0.8]])  # never seen
    with pytest.raises(ValueError, match="idx"):
        ens.update(np.array([[0.5, 0.5]]))


def test_temporal_state_round_trips():
    rng = np.random.default_rng(0)
    ens = TemporalEnsemble(momentum=0.7)
    for _ in range(3):
        ens.update(rng.dirichlet(np.ones(3), size=5), idx=rng.permutation(10)[:5])
    fresh = clone(ens)
    fresh.load_state_dict(ens.state_dict())
    p = rng.dirichlet(np.ones(3), size=4)
    ens.update(p, idx=[0, 1, 2, 3])
    fresh.update(p, idx=[0, 1, 2, 3])
    np.testing.assert_array_equal(ens(p), fresh(p))


def test_temporal_stabilises_a_flipping_label():
    # a sample whose teacher flips every round keeps its long-run label under the EMA
    ens = TemporalEnsemble(momentum=0.6)
    labels = []
    for r in range(6):
        p = np.array([[0.8, 0.2]]) if r % 3 else np.array([[0.4, 0.6]])
        ens.update(p, full_pool=True)
        labels.append(ens(p).argmax())
    assert labels[1:] == [0] * 5


def test_label_smoothing_known_answers():
    p = np.array([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    np.testing.assert_allclose(smooth_labels(p, 0.0), p)
    np.testing.assert_allclose(smooth_labels(p, 1.0), 1 / 3)
    np.testing.assert_allclose(LabelSmoothing(0.3)(p), 0.7 * p + 0.1)
    hard = LabelSmoothing(0.3, hard=True)(p)
    np.testing.assert_allclose(hard, [[0.8, 0.1, 0.1], [0.1, 0.1, 0.8]])
    assert (hard.argmax(1) == p.argmax(1)).all()
    with pytest.raises(ValueError, match="alpha"):
        LabelSmoothing(1.5)(p)


def test_confidence_decay_shrinks_confidence_keeps_argmax():
    p = np.random.default_rng(0).dirichlet(np.ones(4), size=50)
    out = ConfidenceDecay(0.9)(p)
    np.testing.assert_allclose(out.max(axis=1), 0.9 * p.max(axis=1) + 0.1 / 4)
    np.testing.assert_array_equal(out.argmax(1), p.argmax(1))
    np.testing.assert_allclose(ConfidenceDecay(1.0)(p), p)
