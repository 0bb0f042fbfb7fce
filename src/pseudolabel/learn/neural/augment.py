"""Views for consistency training: pluggable, seeded augmenters written with tensor ops.

Every augmenter maps a batch to a batch of the same shape and dtype and draws all its
randomness from the ``torch.Generator`` it is given, so a fixed seed gives the same views and a
resumed run replays them exactly. None loops over samples: per-sample choices are drawn as
tensors and applied with masks (``torch.where``) or one batched ``grid_sample``.

* vectors / embeddings: :class:`GaussianNoise`, :class:`FeatureDropout`, :class:`Scarf`
  (Bahri et al. 2022, corruption from the empirical marginals), :class:`Mixup` (Zhang et al. 2018,
  used as a view: the dominant sample keeps its label);
* small images ``(n, C, H, W)``: :class:`RandomShift`, :class:`RandomFlip`, :class:`RandAugment`
  (Cubuk et al. 2020, FixMatch's random-magnitude variant) and :class:`Cutout`;
* token ids ``(n, L)``: :class:`TokenDropout`, :class:`RandomSwap`, :class:`SpanDeletion` (no
  back-translation model needed); "dropout noise" is the encoder's own dropout in train mode.

``fit(X)`` lets an augmenter see the training rows once (SCARF's marginals, feature scales).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


class Augmenter:
    """Base class: ``aug(x, generator) -> x'`` with ``x'.shape == x.shape`` and the same dtype."""

    def fit(self, X: torch.Tensor) -> Augmenter:
        return self

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.endswith("_"))
        return f"{type(self).__name__}({args})"


class Identity(Augmenter):
    """No change (the weak view of text, where the encoder's dropout is the only noise)."""

    def __call__(self, x, generator=None):
        return x


class Compose(Augmenter):
    """Apply augmenters in order."""

    def __init__(self, *augmenters: Augmenter):
        self.augmenters = list(augmenters)

    def fit(self, X):
        for a in self.augmenters:
            a.fit(X)
        return self

    def __call__(self, x, generator=None):
        for a in self.augmenters:
            x = a(x, generator)
        return x

    def __repr__(self) -> str:
        return f"Compose({', '.join(map(repr, self.augmenters))})"


def _rand(shape, generator, like: torch.Tensor) -> torch.Tensor:
    return torch.rand(shape, generator=generator, dtype=torch.float32).to(like.device)


def _randn(shape, generator, like: torch.Tensor) -> torch.Tensor:
    return torch.randn(shape, generator=generator, dtype=torch.float32).to(like.device)


# ---------------------------------------------------------------------------- vectors
class GaussianNoise(Augmenter):
    """``x + std · s_j · ε`` with ``s_j`` the feature's standard deviation (1 before ``fit``)."""

    def __init__(self, std: float = 0.1):
        self.std = std

    def fit(self, X):
        self.scale_ = X.float().std(dim=0).clamp_min(1e-8)
        return self

    def __call__(self, x, generator=None):
        scale = getattr(self, "scale_", None)
        noise = _randn(x.shape, generator, x) * self.std
        if scale is not None and scale.shape[-1] == x.shape[-1]:
            noise = noise * scale.to(x.device)
        return (x + noise).to(x.dtype)


class FeatureDropout(Augmenter):
    """Set each feature to ``fill`` with probability ``p`` (no rescaling: an input view, not a layer)."""

    def __init__(self, p: float = 0.1, fill: float = 0.0):
        self.p = p
        self.fill = fill

    def __call__(self, x, generator=None):
        drop = _rand(x.shape, generator, x) < self.p
        return torch.where(drop, torch.as_tensor(self.fill, dtype=x.dtype), x)


class Scarf(Augmenter):
    """SCARF corruption: each feature is replaced, with probability ``p``, by the same feature of a
    random training row, i.e. a draw from its empirical marginal (Bahri et al. 2022, default 0.6;
    0.3 here keeps the view closer to the input for pseudo-labeling)."""

    def __init__(self, p: float = 0.3):
        self.p = p

    def fit(self, X):
        self.pool_ = X.detach().float().reshape(len(X), -1)
        return self

    def __call__(self, x, generator=None):
        flat = x.reshape(len(x), -1)
        pool = getattr(self, "pool_", None)
        if pool is None or pool.shape[1] != flat.shape[1]:
            pool = flat  # not fitted: the batch's own marginals
        n, d = flat.shape
        rows = torch.randint(len(pool), (n, d), generator=generator).to(x.device)
        repl = pool.to(x.device).gather(0, rows).to(x.dtype)
        corrupt = _rand((n, d), generator, x) < self.p
        return torch.where(corrupt, repl, flat).reshape(x.shape)


class Mixup(Augmenter):
    """``λ x + (1 − λ) x[perm]`` with ``λ ~ Beta(α, α)`` folded to ``λ ≥ 0.5`` so each row keeps
    its own label (the MixMatch convention); one λ per row."""

    def __init__(self, alpha: float = 0.75):
        self.alpha = alpha

    def __call__(self, x, generator=None):
        n = len(x)
        if n < 2:
            return x
        # Beta(α, α) from two Gammas via the generator: torch.distributions has no generator argument
        g1 = _standard_gamma(self.alpha, n, generator)
        g2 = _standard_gamma(self.alpha, n, generator)
        lam = g1 / (g1 + g2)
        lam = torch.maximum(lam, 1 - lam).to(x.device)
        perm = torch.randperm(n, generator=generator).to(x.device)
        lam = lam.reshape(n, *([1] * (x.dim() - 1)))
        return (lam * x + (1 - lam) * x[perm]).to(x.dtype)


def _standard_gamma(alpha: float, n: int, generator) -> torch.Tensor:
    """Gamma(α, 1) samples from a seeded generator (Marsaglia–Tsang; α < 1 via the boost trick)."""
    a = alpha + 1.0 if alpha < 1.0 else alpha
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    out = torch.empty(n)
    todo = torch.ones(n, dtype=torch.bool)
    for _ in range(64):  # rejection rounds; acceptance is > 95% per round
        z = torch.randn(n, generator=generator)
        u = torch.rand(n, generator=generator)
        v = (1 + c * z) ** 3
        ok = (v > 0) & (torch.log(u.clamp_min(1e-30)) < 0.5 * z**2 + d - d * v + d * torch.log(v.clamp_min(1e-30)))
        take = todo & ok
        out[take] = (d * v)[take]
        todo &= ~take
        if not todo.any():
            break
    out[todo] = d
    if alpha < 1.0:
        out = out * torch.rand(n, generator=generator).clamp_min(1e-30) ** (1.0 / alpha)
    return out


# ---------------------------------------------------------------------------- images
def _as_images(x: torch.Tensor) -> torch.Tensor:
    if x.dim() != 4:
        raise ValueError(f"image augmenters need (n, C, H, W) batches, got shape {tuple(x.shape)}")
    return x


def _affine(x: torch.Tensor, theta: torch.Tensor, mode: str = "bilinear", padding: str = "zeros") -> torch.Tensor:
    """Warp every image by its own 2×3 affine matrix (normalised coordinates) in one call."""
    grid = F.affine_grid(theta.to(x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode=mode, padding_mode=padding, align_corners=False)


class RandomShift(Augmenter):
    """Translate by up to ``fraction`` of the size (whole pixels, reflection padding): FixMatch's
    weak "pad-and-crop" view."""

    def __init__(self, fraction: float = 0.125, padding: str = "reflection"):
        self.fraction = fraction
        self.padding = padding

    def __call__(self, x, generator=None):
        x = _as_images(x)
        n, _, h, w = x.shape
        span = torch.tensor([w, h], dtype=torch.float32)
        max_px = torch.floor(span * self.fraction)
        shift_px = torch.floor(_rand((n, 2), generator, x).cpu() * (2 * max_px + 1)) - max_px
        theta = torch.zeros(n, 2, 3)
        theta[:, 0, 0] = theta[:, 1, 1] = 1.0
        theta[:, :, 2] = -2.0 * shift_px / span  # whole-pixel shifts, so nearest sampling is exact
        return _affine(x, theta.to(x.device), mode="nearest", padding=self.padding)


class RandomFlip(Augmenter):
    """Horizontal flip with probability ``p`` (off by default for digits and text-like images)."""

    def __init__(self, p: float = 0.5):
        self.p = p

    def __call__(self, x, generator=None):
        x = _as_images(x)
        flip = (_rand((len(x), 1, 1, 1), generator, x) < self.p)
        return torch.where(flip, x.flip(-1), x)


class Cutout(Augmenter):
    """Fill one square of side ``≤ size · min(H, W)`` (random, FixMatch: up to half) with ``fill``."""

    def __init__(self, size: float = 0.5, fill: float = 0.5):
        self.size = size
        self.fill = fill

    def __call__(self, x, generator=None):
        x = _as_images(x)
        n, _, h, w = x.shape
        side = (_rand((n,), generator, x) * self.size * min(h, w)).floor()
        cy = _rand((n,), generator, x) * h
        cx = _rand((n,), generator, x) * w
        ys = torch.arange(h, device=x.device).view(1, h, 1)
        xs = torch.arange(w, device=x.device).view(1, 1, w)
        half = (side / 2).view(n, 1, 1)
        inside = ((ys - cy.view(n, 1, 1)).abs() < half) & ((xs - cx.view(n, 1, 1)).abs() < half)
        return torch.where(inside.unsqueeze(1), torch.as_tensor(self.fill, dtype=x.dtype), x)


def _blend(a: torch.Tensor, b: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """PIL's ``ImageEnhance`` rule: ``b + factor · (a − b)``, clipped to [0, 1]."""
    return (b + factor * (a - b)).clamp(0.0, 1.0)


def _equalize(x: torch.Tensor) -> torch.Tensor:
    """Histogram equalisation per image and channel via ranks (the empirical CDF)."""
    n, c, h, w = x.shape
    flat = x.reshape(n * c, h * w)
    ranks = flat.argsort(dim=1).argsort(dim=1).to(x.dtype)
    return (ranks / max(h * w - 1, 1)).reshape(x.shape)


class RandAugment(Augmenter):
    """FixMatch's RandAugment: every image gets ``n_ops`` operations drawn from the list, each with
    a random magnitude in [0, 1] (no magnitude search), for pixels in [0, 1].

    Geometric ops (rotate, shear, translate) of one image are folded into a single affine warp;
    pixel ops are applied to the batch and kept where selected. Add :class:`Cutout` after it for
    the full FixMatch strong view.
    """

    OPS = (
        "identity", "autocontrast", "brightness", "color", "contrast", "equalize", "posterize",
        "rotate", "sharpness", "shear_x", "shear_y", "solarize", "translate_x", "translate_y",
    )

    def __init__(self, n_ops: int = 2, ops: tuple[str, ...] | None = None, max_rotate: float = 30.0,
                 max_shear: float = 0.3, max_translate: float = 0.3):
        self.n_ops = n_ops
        self.ops = ops
        self.max_rotate = max_rotate
        self.max_shear = max_shear
        self.max_translate = max_translate

    def __call__(self, x, generator=None):
        x = _as_images(x)
        ops = tuple(self.ops or self.OPS)
        unknown = set(ops) - set(self.OPS)
        if unknown:
            raise ValueError(f"unknown RandAugment ops {sorted(unknown)}; choose from {self.OPS}")
        n = len(x)
        picks = torch.randint(len(ops), (n, self.n_ops), generator=generator)
        mags = torch.rand((n, self.n_ops), generator=generator)
        signs = torch.where(torch.rand((n, self.n_ops), generator=generator) < 0.5, -1.0, 1.0)
        chosen = {}
        for j, name in enumerate(ops):
            sel = picks == j
            chosen[name] = (sel.any(dim=1), (mags * sel).sum(dim=1), (signs * sel).sum(dim=1).clamp(-1, 1))
        # geometric ops: one affine per image (identity where not chosen)
        theta = torch.eye(3).repeat(n, 1, 1)
        geo = torch.zeros(n, dtype=torch.bool)
        for name in ("rotate", "shear_x", "shear_y", "translate_x", "translate_y"):
            if name not in chosen:
                continue
            on, mag, sign = chosen[name]
            if not on.any():
                continue
            geo |= on
            m = torch.eye(3).repeat(n, 1, 1)
            v = torch.where(on, mag * sign, torch.zeros(n))
            if name == "rotate":
                a = v * math.radians(self.max_rotate)
                m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = a.cos(), -a.sin(), a.sin(), a.cos()
            elif name == "shear_x":
                m[:, 0, 1] = v * self.max_shear
            elif name == "shear_y":
                m[:, 1, 0] = v * self.max_shear
            elif name == "translate_x":
                m[:, 0, 2] = 2 * v * self.max_translate
            else:
                m[:, 1, 2] = 2 * v * self.max_translate
            theta = m @ theta
        out = x
        if geo.any():
            rows = geo.nonzero().flatten().to(x.device)
            out = x.index_copy(0, rows, _affine(x[rows], theta[geo][:, :2, :].to(x.device)))
        dev = x.device

        def apply(name, fn):
            # the op runs only on the images that drew it (vectorised over that subset)
            nonlocal out
            if name not in chosen or not chosen[name][0].any():
                return
            on, mag, _ = chosen[name]
            rows = on.nonzero().flatten().to(dev)
            sub = fn(out[rows], mag.to(dev)[rows].view(-1, 1, 1, 1)).to(out.dtype)
            out = out.index_copy(0, rows, sub)

        mean = lambda t: t.mean(dim=(1, 2, 3), keepdim=True)  # noqa: E731
        apply("brightness", lambda t, m: _blend(t, torch.zeros_like(t), 0.05 + 1.9 * m))
        apply("contrast", lambda t, m: _blend(t, mean(t).expand_as(t), 0.05 + 1.9 * m))
        apply("color", lambda t, m: _blend(t, t.mean(dim=1, keepdim=True).expand_as(t), 0.05 + 1.9 * m))
        apply("sharpness", lambda t, m: _blend(t, _smooth(t), 0.05 + 1.9 * m))
        apply("solarize", lambda t, m: torch.where(t >= m, 1.0 - t, t))
        apply("posterize", lambda t, m: torch.floor(t * 2 ** (4 + torch.floor(4 * m))) / 2 ** (4 + torch.floor(4 * m)))
        apply("autocontrast", lambda t, m: _autocontrast(t))
        apply("equalize", lambda t, m: _equalize(t))
        return out.clamp(0.0, 1.0)


def _smooth(x: torch.Tensor) -> torch.Tensor:
    """PIL's SMOOTH kernel (centre 5, others 1, /13) per channel; borders unchanged."""
    c = x.shape[1]
    k = torch.ones(3, 3, dtype=x.dtype, device=x.device)
    k[1, 1] = 5.0
    k = (k / k.sum()).expand(c, 1, 3, 3)
    out = x.clone()
    out[..., 1:-1, 1:-1] = F.conv2d(x, k, groups=c)
    return out


def _autocontrast(x: torch.Tensor) -> torch.Tensor:
    lo = x.amin(dim=(2, 3), keepdim=True)
    hi = x.amax(dim=(2, 3), keepdim=True)
    return torch.where(hi > lo, (x - lo) / (hi - lo).clamp_min(1e-8), x)


# ---------------------------------------------------------------------------- token ids
class _TokenAugmenter(Augmenter):
    """Shared bits for ``(n, L)`` int64 token-id batches padded with ``pad_id``; special tokens
    (``[CLS]``, ``[SEP]``, padding) are never touched. Defaults are BERT-uncased ids (MiniLM)."""

    pad_id = 0
    special_ids = (0, 100, 101, 102, 103)

    def _editable(self, ids: torch.Tensor) -> torch.Tensor:
        special = torch.tensor(self.special_ids, device=ids.device)
        return ~torch.isin(ids, special)

    def _compact(self, ids: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """Drop the tokens where ``keep`` is False and left-pack the rest (order preserved)."""
        order = torch.sort((~keep).to(torch.int8), dim=1, stable=True).indices
        packed = ids.gather(1, order)
        n_keep = keep.sum(dim=1, keepdim=True)
        pos = torch.arange(ids.shape[1], device=ids.device).unsqueeze(0)
        return torch.where(pos < n_keep, packed, torch.full_like(packed, self.pad_id))


class TokenDropout(_TokenAugmenter):
    """Delete each ordinary token with probability ``p`` (``mask_id`` given: replace it instead)."""

    def __init__(self, p: float = 0.1, mask_id: int | None = None):
        self.p = p
        self.mask_id = mask_id

    def __call__(self, ids, generator=None):
        hit = self._editable(ids) & (_rand(ids.shape, generator, ids) < self.p)
        if self.mask_id is not None:
            return torch.where(hit, torch.full_like(ids, self.mask_id), ids)
        return self._compact(ids, ~hit)


class RandomSwap(_TokenAugmenter):
    """Swap ``n_swaps`` random pairs of ordinary tokens in every sequence (EDA's random swap)."""

    def __init__(self, n_swaps: int = 2):
        self.n_swaps = n_swaps

    def __call__(self, ids, generator=None):
        ids = ids.clone()
        editable = self._editable(ids)
        n_edit = editable.sum(dim=1)
        rows = torch.arange(len(ids), device=ids.device)
        # the k-th editable position of each row: positions sorted with editable ones first
        order = torch.sort((~editable).to(torch.int8), dim=1, stable=True).indices
        for _ in range(self.n_swaps):  # loop over swap rounds, vectorised over samples
            a = (_rand((len(ids),), generator, ids) * n_edit).long().clamp_max((n_edit - 1).clamp_min(0))
            b = (_rand((len(ids),), generator, ids) * n_edit).long().clamp_max((n_edit - 1).clamp_min(0))
            pa, pb = order[rows, a], order[rows, b]
            ok = n_edit >= 2
            va, vb = ids[rows, pa], ids[rows, pb]
            ids[rows[ok], pa[ok]] = vb[ok]
            ids[rows[ok], pb[ok]] = va[ok]
        return ids


class SpanDeletion(_TokenAugmenter):
    """Delete one contiguous span of up to ``max_fraction`` of the ordinary tokens per sequence."""

    def __init__(self, max_fraction: float = 0.2):
        self.max_fraction = max_fraction

    def __call__(self, ids, generator=None):
        editable = self._editable(ids)
        n_edit = editable.sum(dim=1).float()
        length = (_rand((len(ids),), generator, ids) * self.max_fraction * n_edit).floor()
        start = (_rand((len(ids),), generator, ids) * (n_edit - length + 1)).floor()
        rank = editable.long().cumsum(dim=1) - 1  # rank among editable tokens
        inside = editable & (rank >= start.unsqueeze(1)) & (rank < (start + length).unsqueeze(1))
        return self._compact(ids, ~inside)


# ---------------------------------------------------------------------------- defaults
def default_views(kind: str) -> tuple[Augmenter, Augmenter]:
    """(weak, strong) views per input kind: ``"vector"``, ``"image"`` or ``"tokens"``."""
    if kind == "vector":
        return GaussianNoise(0.05), Compose(Scarf(0.3), GaussianNoise(0.1), FeatureDropout(0.1))
    if kind == "image":
        return RandomShift(0.125), Compose(RandomShift(0.125), RandAugment(2), Cutout(0.5))
    if kind == "tokens":
        return Identity(), Compose(TokenDropout(0.1), RandomSwap(2), SpanDeletion(0.2))
    raise ValueError(f"no default views for input kind {kind!r}; expected 'vector', 'image' or 'tokens'")


def resolve_view(view, kind: str, which: int) -> Augmenter:
    """``"auto"`` → the default view for the input kind; ``None`` → identity; objects pass."""
    if view is None:
        return Identity()
    if isinstance(view, str):
        if view != "auto":
            raise ValueError(f"a view must be 'auto', None or an augmenter, got {view!r}")
        return default_views(kind)[which]
    if isinstance(view, list | tuple):
        return Compose(*view)
    if not callable(view):
        raise TypeError(f"a view must be callable (x, generator) -> x, got {type(view).__name__}")
    return view
