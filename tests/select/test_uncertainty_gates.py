import numpy as np
import pytest

from pseudolabel.select import (
    EnsembleGate,
    EntropyGate,
    MarginGate,
    ensemble_uncertainty,
    margin,
    normalized_entropy,
)


def test_entropy_gate_known_answers():
    p = np.array([[1.0, 0.0, 0.0, 0.0], [0.25, 0.25, 0.25, 0.25], [0.5, 0.5, 0.0, 0.0]])
    np.testing.assert_allclose(normalized_entropy(p), [0.0, 1.0, 0.5])
    gate = EntropyGate(threshold=0.5)
    np.testing.assert_array_equal(gate(p), [1, 0, 1])  # 0.5 ≤ 0.5 kept
    np.testing.assert_allclose(gate.info_["entropy"], [0.0, 1.0, 0.5])
    np.testing.assert_allclose(EntropyGate(0.5, soft=True)(p), [1.0, 0.0, 0.5])


def test_margin_gate_known_answers():
    p = np.array([[0.6, 0.3, 0.1], [0.45, 0.45, 0.1], [0.9, 0.05, 0.05]])
    np.testing.assert_allclose(margin(p), [0.3, 0.0, 0.85])
    np.testing.assert_array_equal(MarginGate(0.3)(p), [1, 0, 1])
    np.testing.assert_allclose(MarginGate(0.3, soft=True)(p), [0.3, 0.0, 0.85])
    with pytest.raises(ValueError, match="threshold"):
        MarginGate(2.0)(p)


def test_identical_members_have_zero_uncertainty():
    # docs/methods/select.md, `entropy`/`margin`/`ensemble_gate` (a)
    p = np.random.default_rng(0).dirichlet(np.ones(3), size=20)
    members = np.stack([p] * 4)
    for measure in ("mi", "variance", "disagreement"):
        np.testing.assert_allclose(ensemble_uncertainty(members, measure), 0.0, atol=1e-12)
    np.testing.assert_array_equal(EnsembleGate(threshold=0.0)(p, member_probs=members), 1.0)


def test_two_one_hot_heads_on_different_classes():
    # docs/methods/select.md, `entropy`/`margin`/`ensemble_gate` (b): MI = log 2 nats (= 1 after dividing by log K with K = 2), p̄ = (½, ½)
    members = np.array([[[1.0, 0.0]], [[0.0, 1.0]]])
    mean = members.mean(axis=0)
    np.testing.assert_allclose(mean, [[0.5, 0.5]])
    assert ensemble_uncertainty(members, "mi")[0] == pytest.approx(1.0)
    assert ensemble_uncertainty(members, "variance")[0] == pytest.approx(1.0)
    assert ensemble_uncertainty(members, "disagreement")[0] == pytest.approx(0.5)
    # UPL-SFDA's rule (mean confidence ≥ 0.9) excludes it even with a lenient disagreement cut
    assert EnsembleGate(measure="disagreement", threshold=1.0, confidence=0.9)(mean, member_probs=members)[0] == 0


def test_ensemble_gate_without_members_is_one_member():
    p = np.array([[0.5, 0.5], [0.95, 0.05], [0.2, 0.8]])
    gate = EnsembleGate(threshold=0.0, confidence=0.9)
    np.testing.assert_array_equal(gate(p), [0, 1, 0])  # no disagreement to measure: confidence gates
    assert (gate.info_["members"] == 1).all()
    with pytest.raises(ValueError, match="member_probs must have shape"):
        EnsembleGate()(p, member_probs=np.ones((2, 4, 2)) / 2)


def test_ensemble_gate_ranks_by_disagreement():
    agree = np.tile([0.9, 0.1], (4, 1))
    split = np.array([[0.9, 0.1], [0.1, 0.9], [0.9, 0.1], [0.1, 0.9]])
    members = np.stack([agree, split], axis=1)  # (M=4, n=2, K=2)
    gate = EnsembleGate(measure="mi", threshold=0.1)
    w = gate(members.mean(axis=0), member_probs=members)
    np.testing.assert_array_equal(w, [1, 0])
    assert gate.info_["mi"][1] > gate.info_["mi"][0]
