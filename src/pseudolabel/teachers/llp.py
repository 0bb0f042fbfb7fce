"""Learning from label proportions by belief propagation (LLP-BP), binary labels.

Havaldar et al. 2024, "Learning from Label Proportions: Bootstrapping Supervised Learners via
Belief Propagation" (ICLR; code google-deepmind/llp_bp). Rows come in bags B whose positive count ``k_B`` is known (privacy-
aggregated labels: only "3 of these 8 users converted" is released). Instance labels
``y_i ∈ {0, 1}`` get the Gibbs distribution::

    log P(y) = − λ_s Σ_{(i,j) ∈ kNN} s_ij (y_i − y_j)²  −  λ_b Σ_B (Σ_{i∈B} y_i − k_B)²  + const

with ``s_ij = exp(−‖x_i − x_j‖ / ℓ)`` (Matérn-½) on cosine-kNN pairs (k = 5, cosine distance
< 2). The marginals ``μ_i = P(y_i = 1)`` from loopy belief propagation (100 flooding iterations,
damping 0.5, temperature 1) are the soft pseudo-labels; ``1[μ_i > 0.5]`` the hard ones, on which
a classifier is trained for new rows. Defaults λ_s = λ_b = 10, bag size 8 (the paper's).

**Bag factor.** Expanding the square gives the paper's factor graph: unary ``−λ_b (1 − 2k_B)``
and a (1,1) pairwise term ``−2 λ_b`` for every pair in a bag (``bag_factor="pairwise"``).
That is a complete graph inside each bag, so loopy BP is approximate even without kNN edges.
The default ``bag_factor="cardinality"`` keeps each bag as one factor of its count and computes
its messages exactly (a Poisson-binomial recursion over the other members), the same
distribution with fewer loops; BP is then exact whenever the factor graph is a tree.

**Smoothness** is run in its symmetric form, a pairwise ``−λ_s s_ij 1[y_i ≠ y_j]``, rather than the
paper's expansion (unary ``−λ_s Σ_j s_ij`` plus a (1,1) coupling ``2 λ_s s_ij``): the distribution is
the same, but BP started from uniform messages on the expansion freezes every unlabeled row at 0
before the messages of labeled rows or bags arrive. ``anneal`` (default 16) starts BP at a higher
temperature and cools it (deterministic annealing) so that stiff clusters follow the bag counts.

**Why NumPy.** The authors run BP in PGMax, which needs JAX. Binary variables make every message
a single log-odds number, so flooding BP is a few vectorised array operations over all edges and
all bags at once (no Python loop over nodes or edges).

**Labeled rows** (``y ∈ {0, 1}``, e.g. inside ``SelfTrainer``) are clamped by a unary
``λ_b · w_i · (2 y_i − 1)`` (a bag of one with a known count); without bags the teacher is kNN
smoothness plus these clamps. The paper's second stage (an MLP's embeddings replace ``x`` and BP
is rerun) is not included, nor its data-specific rule of adding kNN pairs only for bags with at
most one positive.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, logsumexp
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from pseudolabel.core.registry import register
from pseudolabel.ops.estimators import expand_proba, fit_weighted, resolve_student
from pseudolabel.ops.knn import knn_search, prepare

BAG_FACTORS = ("cardinality", "pairwise")


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


def _bag_table(bags: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bag ids per row (−1 = no bag) → (G, M) member table padded with −1, and bag codes per row."""
    bags = np.asarray(bags, dtype=np.int64)
    rows = np.flatnonzero(bags >= 0)
    if len(rows) == 0:
        return np.zeros((0, 0), dtype=np.int64), np.full(len(bags), -1)
    uniq, code = np.unique(bags[rows], return_inverse=True)
    order = np.argsort(code, kind="stable")
    sizes = np.bincount(code, minlength=len(uniq))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pos = np.arange(len(rows)) - np.repeat(starts, sizes)
    table = np.full((len(uniq), sizes.max()), -1, dtype=np.int64)
    table[code[order], pos] = rows[order]
    codes = np.full(len(bags), -1, dtype=np.int64)
    codes[rows] = code
    return table, codes


def _cardinality_messages(cavity: np.ndarray, valid: np.ndarray, counts: np.ndarray, lam: np.ndarray) -> np.ndarray:
    """Exact factor→member log-odds messages of ``φ(s) = −λ (s − k)²`` for every bag at once.

    cavity : (G, M) log-odds of each member without this factor's message; valid : (G, M) mask.
    The sum of the other members is Poisson-binomial: prefix and suffix recursions over member
    positions (a loop over M, vectorised over bags) give it for every left-out member.
    """
    G, M = cavity.shape
    lq1 = np.where(valid, -_softplus(-cavity), -np.inf)  # log P(y=1); padding is always 0
    lq0 = np.where(valid, -_softplus(cavity), 0.0)
    neg = np.full((G, M + 1), -np.inf)
    pre = np.empty((M + 1, G, M + 1))
    suf = np.empty((M + 1, G, M + 1))
    pre[0] = neg
    pre[0][:, 0] = 0.0
    suf[M] = pre[0]
    for t in range(M):
        shifted = np.concatenate([neg[:, :1], pre[t][:, :-1]], axis=1)
        pre[t + 1] = np.logaddexp(pre[t] + lq0[:, t : t + 1], shifted + lq1[:, t : t + 1])
        u = M - 1 - t
        shifted = np.concatenate([neg[:, :1], suf[u + 1][:, :-1]], axis=1)
        suf[u] = np.logaddexp(suf[u + 1] + lq0[:, u : u + 1], shifted + lq1[:, u : u + 1])
    s = np.arange(M + 1)
    tot = s[:, None] + s[None, :]  # count of the others = a + b
    phi1 = -lam[:, None, None] * (tot[None] + 1 - counts[:, None, None]) ** 2  # member = 1
    phi0 = -lam[:, None, None] * (tot[None] - counts[:, None, None]) ** 2  # member = 0
    out = np.empty((G, M))
    for t in range(M):  # left-out member t: others = prefix[t] ⊗ suffix[t+1]
        joint = pre[t][:, :, None] + suf[t + 1][:, None, :]
        with np.errstate(invalid="ignore"):
            out[:, t] = logsumexp(joint + phi1, axis=(1, 2)) - logsumexp(joint + phi0, axis=(1, 2))
    return np.where(valid, out, 0.0)


def loopy_bp(
    unary,
    edges=None,
    coupling=None,
    penalty=None,
    bags=None,
    counts=None,
    lambda_bag: float | np.ndarray = 10.0,
    *,
    n_iter: int = 100,
    damping: float = 0.5,
    temperature: float = 1.0,
    anneal: float = 1.0,
    tol: float = 0.0,
) -> np.ndarray:
    """Marginals ``P(y_i = 1)`` of a binary field by flooding sum-product BP in log-odds form.

    unary : (n,) log-potential of ``y_i = 1`` relative to ``y_i = 0``.
    edges, coupling, penalty : (E, 2) node pairs; (E,) log-potential added when both are 1;
        (E,) log-potential subtracted when they differ (``w·(y_i − y_j)²`` in symmetric form).
    bags, counts : (n,) bag id per row (−1 = none) and (G,) target count per bag (in sorted
        bag-id order); each bag adds the factor ``−λ_b (Σ_{i∈B} y_i − k_B)²``.
    damping : ``m ← damping · m_old + (1 − damping) · m_new`` (PGMax convention).
    temperature : all log-potentials are divided by it (1 = the Gibbs distribution itself).
    anneal : start at ``anneal × temperature`` and cool geometrically to ``temperature`` over
        the first half of the iterations (1 = off). Strong smoothness turns each cluster into one
        stiff "spin" and cold BP then freezes in whichever state its first sweeps pick; starting
        warm lets the bag counts choose first (deterministic annealing).
    tol : stop early, once cooled, when no message moves by more than ``tol`` (0 = run ``n_iter``).
    """
    if temperature <= 0 or anneal < 1:
        raise ValueError(f"need temperature > 0 and anneal >= 1, got {temperature} and {anneal}")
    if not 0.0 <= damping < 1.0:
        raise ValueError(f"damping must lie in [0, 1), got {damping}")
    h0 = np.asarray(unary, dtype=np.float64)
    n = len(h0)
    E = np.zeros((0, 2), dtype=np.int64) if edges is None else np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    J0 = np.zeros(len(E)) if coupling is None else np.asarray(coupling, dtype=np.float64)
    W0 = np.zeros(len(E)) if penalty is None else np.asarray(penalty, dtype=np.float64)
    if len(J0) != len(E) or len(W0) != len(E):
        raise ValueError(f"coupling and penalty need one entry per edge ({len(E)})")
    src = np.concatenate([E[:, 0], E[:, 1]])  # directed copies: e and its reverse e + |E|
    dst = np.concatenate([E[:, 1], E[:, 0]])
    JJ0 = np.concatenate([J0, J0])
    WW0 = np.concatenate([W0, W0])
    rev = np.concatenate([np.arange(len(E)) + len(E), np.arange(len(E))])
    m_pair = np.zeros(len(src))
    if bags is not None:
        table, _ = _bag_table(bags)
        k = np.asarray(counts, dtype=np.float64)
        if len(k) != len(table):
            raise ValueError(f"counts has {len(k)} entries for {len(table)} bags")
        lam0 = np.broadcast_to(np.asarray(lambda_bag, dtype=np.float64), (len(table),))
    else:
        table = np.zeros((0, 0), dtype=np.int64)
        k = lam0 = np.zeros(0)
    valid = table >= 0
    members = np.where(valid, table, 0)
    m_bag = np.zeros(table.shape)
    n_iter = int(n_iter)
    cool = max(n_iter // 2, 1)

    def beliefs(h):
        b = h + np.bincount(dst, weights=m_pair, minlength=n)
        if table.size:
            b = b + np.bincount(table[valid], weights=m_bag[valid], minlength=n)
        return b

    for it in range(n_iter):
        T = temperature * float(anneal) ** max(0.0, 1.0 - it / cool)
        h, JJ, WW, lam = h0 / T, JJ0 / T, WW0 / T, lam0 / T
        belief = beliefs(h)
        a = belief[src] - m_pair[rev]  # cavity of the sender without the receiver's message
        # log-odds of Σ_{y_i} exp(a·y_i + J·y_i·y_j − w·1[y_i ≠ y_j]) for y_j = 1 vs y_j = 0
        new_pair = np.logaddexp(-WW, a + JJ) - np.logaddexp(0.0, a - WW)
        new_bag = _cardinality_messages(belief[members] - m_bag, valid, k, lam) if table.size else m_bag
        delta = max(np.abs(new_pair - m_pair).max(initial=0.0), np.abs(new_bag - m_bag).max(initial=0.0))
        m_pair = damping * m_pair + (1.0 - damping) * new_pair
        m_bag = damping * m_bag + (1.0 - damping) * new_bag
        if tol > 0 and it >= cool and delta < tol:
            break
    return expit(beliefs(h0 / temperature))


def pairwise_bag_terms(bags, counts, lambda_bag: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The paper's expansion of the bag factors: (unary (n,), pairs (P, 2), coupling (P,))."""
    table, codes = _bag_table(bags)
    k = np.asarray(counts, dtype=np.float64)
    unary = np.where(codes >= 0, -lambda_bag * (1.0 - 2.0 * k[np.maximum(codes, 0)]), 0.0)
    M = table.shape[1] if table.size else 0
    a, b = np.triu_indices(M, 1)
    pairs = np.stack([table[:, a].ravel(), table[:, b].ravel()], axis=1) if M > 1 else np.zeros((0, 2), dtype=np.int64)
    pairs = pairs[(pairs >= 0).all(axis=1)]
    return unary, pairs, np.full(len(pairs), -2.0 * lambda_bag)


def knn_similarity_edges(X, n_neighbors: int = 5, max_distance: float = 2.0, length_scale="auto", backend: str = "auto"):
    """Unique undirected cosine-kNN pairs with cosine distance < ``max_distance`` and their
    Matérn-½ similarity ``exp(−‖x_i − x_j‖ / ℓ)`` (``ℓ = "auto"``: the median pair distance)."""
    X = np.asarray(X, dtype=np.float64)
    n = len(X)
    if n < 2 or n_neighbors < 1:
        return np.zeros((0, 2), dtype=np.int64), np.zeros(0)
    Z = prepare(X, "cosine")
    d2, idx = knn_search(Z, None, min(int(n_neighbors), n - 1), backend=backend)
    rows = np.repeat(np.arange(n), idx.shape[1])
    keep = (idx.ravel() >= 0) & (d2.ravel() / 2.0 < max_distance)  # unit rows: cos-dist = d²/2
    pairs = np.sort(np.stack([rows[keep], idx.ravel()[keep]], axis=1), axis=1)
    pairs = np.unique(pairs[pairs[:, 0] != pairs[:, 1]], axis=0)
    dist = np.linalg.norm(X[pairs[:, 0]] - X[pairs[:, 1]], axis=1)
    ell = float(np.median(dist)) if length_scale == "auto" else float(length_scale)
    if not ell > 0:
        ell = 1.0
    return pairs, np.exp(-dist / ell)


def bag_counts(bags, proportions) -> tuple[np.ndarray, np.ndarray]:
    """(bag code per row, positive count per bag) from per-row or per-bag proportions.

    ``bags`` gives each row's bag id; with integer ids, ``-1`` means "in no bag". Bag codes
    follow the sorted bag ids. ``proportions`` is a mapping ``{bag: fraction}`` or an (n,) array
    giving each row its bag's fraction (constant within a bag). Counts are ``fraction × size``.
    """
    bags = np.asarray(bags)
    if bags.ndim != 1:
        raise ValueError(f"bags must be 1-D (one bag id per row), got shape {bags.shape}")
    inside = ~(bags == -1) if bags.dtype.kind in "iuf" else np.ones(len(bags), dtype=bool)
    labels, code = np.unique(bags[inside], return_inverse=True)
    codes = np.full(len(bags), -1, dtype=np.int64)
    codes[inside] = code
    sizes = np.bincount(code, minlength=len(labels))
    if isinstance(proportions, dict):
        missing = [b for b in labels if b not in proportions]
        if missing:
            raise ValueError(f"proportions lacks bags {missing[:5]}")
        frac = np.array([float(proportions[b]) for b in labels])
    else:
        per_row = np.asarray(proportions, dtype=np.float64)
        if per_row.shape != bags.shape:
            raise ValueError(
                f"proportions must be a dict {{bag: fraction}} or one value per row ({len(bags)}); got shape {per_row.shape}"
            )
        frac = np.bincount(code, weights=per_row[inside], minlength=len(labels)) / np.maximum(sizes, 1)
        if np.abs(per_row[inside] - frac[code]).max(initial=0.0) > 1e-9:
            raise ValueError("proportions must be constant within each bag")
    if ((frac < 0) | (frac > 1)).any():
        raise ValueError("proportions must lie in [0, 1]")
    return codes, frac * sizes


@register("teacher", "llp")
class LLPTeacher(BaseEstimator):
    """Binary pseudo-labels from bag proportions + kNN smoothness by belief propagation (LLP-BP).

    n_neighbors, max_distance : cosine kNN pairs (k = 5, cosine distance < 2.0).
    length_scale : ℓ of the Matérn-½ similarity; the paper's 1.0 assumes standardised features,
        ``"auto"`` (default) uses the median pair distance so any feature scale works.
    lambda_smooth, lambda_bag : λ_s and λ_b (10 and 10).
    bag_factor : ``"cardinality"`` (exact bag messages) or ``"pairwise"`` (the paper's expansion).
    n_iter, damping, temperature : BP settings (100, 0.5, 1.0).
    anneal : start BP at ``anneal × temperature`` and cool to ``temperature`` over the first
        half of the iterations (16; 1 = the paper's plain BP, which can freeze in a wrong state
        when the kNN smoothness is strong).
    threshold : marginal above which the hard pseudo-label is 1 (0.5).
    estimator : classifier trained on the hard pseudo-labels for ``predict_proba`` on new rows
        (``None`` = the default student; the paper trains an MLP).

    ``fit(X, bags=..., proportions=...)`` for bag data; ``y`` may add instance labels (0/1, −1 =
    unknown). ``transduce`` returns ``[1 − μ, μ]`` for every row; ``marginals_`` holds ``μ``.
    """

    def __init__(
        self,
        n_neighbors: int = 5,
        max_distance: float = 2.0,
        length_scale="auto",
        lambda_smooth: float = 10.0,
        lambda_bag: float = 10.0,
        bag_factor: str = "cardinality",
        n_iter: int = 100,
        damping: float = 0.5,
        temperature: float = 1.0,
        anneal: float = 16.0,
        threshold: float = 0.5,
        estimator=None,
        backend: str = "auto",
    ):
        self.n_neighbors = n_neighbors
        self.max_distance = max_distance
        self.length_scale = length_scale
        self.lambda_smooth = lambda_smooth
        self.lambda_bag = lambda_bag
        self.bag_factor = bag_factor
        self.n_iter = n_iter
        self.damping = damping
        self.temperature = temperature
        self.anneal = anneal
        self.threshold = threshold
        self.estimator = estimator
        self.backend = backend

    def transduce(self, X, y=None, sample_weight=None, *, bags=None, proportions=None, n_classes: int | None = None) -> np.ndarray:
        if n_classes is not None and int(n_classes) != 2:
            raise ValueError(f"LLP-BP is for binary labels; this task has {n_classes} classes")
        if self.bag_factor not in BAG_FACTORS:
            raise ValueError(f"bag_factor must be one of {BAG_FACTORS}, got {self.bag_factor!r}")
        X = np.asarray(X, dtype=np.float64)
        n = len(X)
        y = np.full(n, -1, dtype=np.int64) if y is None else np.asarray(y, dtype=np.int64)
        if len(y) != n:
            raise ValueError(f"y has {len(y)} entries but X has {n} rows")
        if (y > 1).any():
            raise ValueError("LLP-BP is for binary labels: y must be 0, 1 or -1 (unlabeled)")
        if bags is None and not (y >= 0).any():
            raise ValueError("LLPTeacher needs bags=... with proportions=..., or some labeled rows in y")
        w = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)
        lam_b = float(self.lambda_bag)
        h = np.where(y >= 0, lam_b * w * (2.0 * y - 1.0), 0.0)
        pairs, sim = knn_similarity_edges(X, self.n_neighbors, self.max_distance, self.length_scale, self.backend)
        # smoothness in symmetric form, −λ_s s_ij 1[y_i ≠ y_j]: the same distribution as the paper's
        # unary −λ_s Σ_j s_ij plus (1,1) coupling 2 λ_s s_ij, but BP started from uniform messages
        # no longer freezes every unlabeled row at 0 before the labels' messages arrive
        edges, J, Wp = pairs, np.zeros(len(pairs)), float(self.lambda_smooth) * sim
        bag_ids = counts = None
        if bags is not None:
            if proportions is None:
                raise ValueError("bags=... needs proportions=... (a dict {bag: fraction} or one value per row)")
            if len(bags) != n:
                raise ValueError(f"bags has {len(bags)} entries but X has {n} rows")
            bag_ids, counts = bag_counts(bags, proportions)
            if self.bag_factor == "pairwise":
                hb, pb, jb = pairwise_bag_terms(bag_ids, counts, lam_b)
                h, edges = h + hb, np.vstack([edges, pb])
                J, Wp = np.concatenate([J, jb]), np.concatenate([Wp, np.zeros(len(pb))])
                bag_ids = counts = None
        mu = loopy_bp(
            h, edges, J, Wp, bag_ids, counts, lam_b,
            n_iter=self.n_iter, damping=self.damping, temperature=self.temperature, anneal=self.anneal,
        )  # fmt: skip
        self.marginals_ = mu
        self.pseudo_labels_ = (mu > self.threshold).astype(np.int64)
        self.n_classes_ = 2
        target = np.where(y >= 0, y, self.pseudo_labels_)
        est = resolve_student(self.estimator, role="LLP estimator")
        self.estimator_ = fit_weighted(est, X, target) if len(np.unique(target)) > 1 else None
        self.constant_ = int(target[0])
        return np.stack([1.0 - mu, mu], axis=1)

    def fit(self, X, y=None, sample_weight=None, *, bags=None, proportions=None, n_classes: int | None = None) -> LLPTeacher:
        self.transduce(X, y, sample_weight, bags=bags, proportions=proportions, n_classes=n_classes)
        return self

    def predict_proba(self, X) -> np.ndarray:
        check_is_fitted(self, "marginals_")
        X = np.asarray(X, dtype=np.float64)
        if self.estimator_ is None:  # every pseudo-label is the same class
            out = np.zeros((len(X), 2))
            out[:, self.constant_] = 1.0
            return out
        return expand_proba(self.estimator_.predict_proba(X), self.estimator_.classes_, 2)
