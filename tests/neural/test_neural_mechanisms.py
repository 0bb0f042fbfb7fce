"""Known-answer tests of the loss terms and neural-only mechanisms (docs/neural.md)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from pseudolabel.learn.neural.ema import ModelEMA  # noqa: E402
from pseudolabel.learn.neural.losses import consistency_loss, fairness_loss  # noqa: E402
from pseudolabel.learn.neural.shrinkmatch import shrink_loss, shrink_mask  # noqa: E402
from pseudolabel.learn.neural.simmatch import LabeledBank, instance_loss, simmatch_targets  # noqa: E402
from pseudolabel.select import fairness_loss as fairness_loss_np  # noqa: E402


def test_consistency_loss_known_answers():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(10, 4, generator=g, requires_grad=True)
    y = torch.randint(4, (10,), generator=g)
    full = consistency_loss(z, y, torch.ones(10))
    assert torch.allclose(full, torch.nn.functional.cross_entropy(z, y))  # w ≡ 1: plain CE
    zero = consistency_loss(z, y, torch.zeros(10))
    zero.backward()
    assert zero.item() == 0.0 and torch.equal(z.grad, torch.zeros_like(z))  # w ≡ 0: no gradient
    half = consistency_loss(z.detach(), y, torch.tensor([1.0] * 5 + [0.0] * 5))
    ce = torch.nn.functional.cross_entropy(z.detach(), y, reduction="none")
    assert torch.allclose(half, ce[:5].sum() / 10)  # USB convention: divided by ALL samples
    soft = consistency_loss(z.detach(), torch.nn.functional.one_hot(y, 4).float(), torch.ones(10))
    assert torch.allclose(soft, full.detach())


def test_fairness_loss_matches_numpy_twin():
    rng = np.random.default_rng(0)
    q = rng.dirichlet(np.ones(5), size=40)
    mask = (rng.random(40) > 0.3).astype(float)
    p_t, h_t = rng.dirichlet(np.ones(5)), rng.dirichlet(np.ones(5))
    ours = fairness_loss(torch.from_numpy(q), torch.from_numpy(mask), p_t, h_t)
    assert ours.item() == pytest.approx(fairness_loss_np(q, mask, p_t, h_t), abs=1e-10)
    assert fairness_loss(torch.from_numpy(q), torch.zeros(40), p_t, h_t).item() == 0.0


def test_shrink_mask_known_answers():
    p = torch.tensor([[0.50, 0.45, 0.01, 0.01, 0.01, 0.01, 0.01]])
    keep, valid = shrink_mask(p, 0.95)
    assert valid.item() and keep[0].nonzero().flatten().tolist() == [0, 5, 6]  # s = .909 .926 .943 .9615
    keep, valid = shrink_mask(torch.tensor([[0.5, 0.45, 0.05]]), 0.95)
    assert not valid.item()  # the last candidate {top-1, last} gives 0.909 < τ: weight 0
    _, valid = shrink_mask(torch.tensor([[0.97, 0.02, 0.01]]), 0.95)
    assert not valid.item()  # certain samples do not enter the shrink loss
    # class order does not matter (distinct values, no ties): s = .833 .893 .943 .98 → keep {0, 5, 6}
    q = torch.tensor([[0.50, 0.40, 0.04, 0.03, 0.02, 0.006, 0.004]])
    perm = torch.tensor([3, 6, 0, 2, 5, 1, 4])
    keep_p, valid_p = shrink_mask(q[:, perm], 0.95)
    assert valid_p.item() and sorted(perm[keep_p[0]].tolist()) == [0, 5, 6]


def test_shrink_loss_weights_by_confidence():
    p = torch.tensor([[0.50, 0.45, 0.01, 0.01, 0.01, 0.01, 0.01], [0.97, 0.01, 0.01, 0.0, 0.0, 0.0, 0.01]])
    aux = torch.zeros(2, 7)
    losses, valid = shrink_loss(aux, p, 0.95)
    assert valid.tolist() == [True, False]
    assert losses[0].item() == pytest.approx(0.5 * np.log(3))  # CE over 3 kept classes, uniform logits, × c
    assert losses[1].item() == 0.0


def test_simmatch_targets_known_answers():
    g = torch.Generator().manual_seed(0)
    probs = torch.softmax(torch.randn(6, 3, generator=g), 1)
    labels = torch.tensor([0, 0, 1, 2, 2])
    sim = torch.randn(6, 5, generator=g)
    p_hat, q_hat = simmatch_targets(probs, sim, labels, alpha=0.9)
    assert torch.allclose(p_hat.sum(1), torch.ones(6)) and (p_hat >= 0).all()  # (a) on the simplex
    # (b) e equal to bank item 3 and T → 0: aggregation is the one-hot of its class
    sharp = torch.full((1, 5), -1e4)
    sharp[0, 3] = 0.0
    p0, _ = simmatch_targets(probs[:1], sharp, labels, alpha=0.0)
    assert torch.allclose(p0, torch.tensor([[0.0, 0.0, 1.0]]))
    # (c) one-hot p on class 1: q̂ is supported on bank items of class 1 only
    _, qc = simmatch_targets(torch.tensor([[0.0, 1.0, 0.0]]), sim[:1], labels)
    assert torch.allclose(qc, torch.tensor([[0.0, 0.0, 1.0, 0.0, 0.0]]))
    # (d) α = 1: FixMatch targets
    p1, _ = simmatch_targets(probs, sim, labels, alpha=1.0)
    assert torch.allclose(p1, probs)
    assert instance_loss(q_hat, sim).item() > 0


def test_simmatch_targets_wrapper_agrees_with_the_torch_formula_and_the_ops_kernel():
    from pseudolabel.ops import simmatch as ops
    from pseudolabel.ops.simplex import softmax

    g = torch.Generator().manual_seed(1)
    probs = torch.softmax(torch.randn(7, 4, generator=g), 1)
    sim = torch.randn(7, 9, generator=g) / 0.1
    labels = torch.tensor([0, 1, 2, 3, 0, 1, 2, 3, 3])
    p_hat, q_hat = simmatch_targets(probs, sim, labels, alpha=0.8)
    assert p_hat.dtype == probs.dtype and q_hat.dtype == sim.dtype
    q = torch.softmax(sim, 1)  # the torch formula the wrapper replaced
    ref_q = q * probs[:, labels]
    assert torch.allclose(p_hat, 0.8 * probs + 0.2 * q @ torch.nn.functional.one_hot(labels, 4).float(), atol=1e-6)
    assert torch.allclose(q_hat, ref_q / ref_q.sum(1, keepdim=True), atol=1e-6)
    qn, pn = softmax(sim.double().numpy(), axis=1), probs.double().numpy()
    assert np.allclose(p_hat.numpy(), ops.simmatch_targets(pn, ops.aggregate(qn, labels.numpy(), 4), 0.8), atol=1e-7)
    assert np.allclose(q_hat.numpy(), ops.unfold(qn, pn, labels.numpy()), atol=1e-7)


def test_labeled_bank_update_and_round_trip():
    bank = LabeledBank(torch.tensor([0, 1, 1]), 4, momentum=0.0, generator=torch.Generator().manual_seed(0))
    bank.update(torch.tensor([1]), torch.tensor([[3.0, 0.0, 0.0, 4.0]]))
    assert torch.allclose(bank.feats[1], torch.tensor([0.6, 0.0, 0.0, 0.8]))
    other = LabeledBank(torch.tensor([0, 0, 0]), 4)
    other.load_state_dict(bank.state_dict())
    assert torch.equal(other.feats, bank.feats) and torch.equal(other.labels, bank.labels)


def test_ema_averages_parameters_and_copies_buffers():
    net = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))
    ema = ModelEMA(net, momentum=0.5)
    before = [p.clone() for p in ema.module.parameters()]
    with torch.no_grad():
        for p in net.parameters():
            p.add_(1.0)
        net[1].running_mean.fill_(7.0)
    ema.update(net)
    for b, t, s in zip(before, ema.module.parameters(), net.parameters(), strict=True):
        assert torch.allclose(t, 0.5 * b + 0.5 * s)
    assert torch.equal(ema.module[1].running_mean, torch.full((2,), 7.0))
    ema2 = ModelEMA(net, momentum=0.999)
    ema2.load_state_dict(ema.state_dict())
    assert all(torch.equal(a, b) for a, b in zip(ema2.module.state_dict().values(), ema.module.state_dict().values(), strict=True))
    # warm-up: at step 0 the effective momentum is 1/10
    fresh = ModelEMA(net, momentum=0.999)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(10.0)
    old = [p.clone() for p in fresh.module.parameters()]
    fresh.update(net, step=0)
    for o, t, s in zip(old, fresh.module.parameters(), net.parameters(), strict=True):
        assert torch.allclose(t, 0.1 * o + 0.9 * s)
