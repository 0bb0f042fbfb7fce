"""Augmenters: shapes/dtypes kept, seeded, and known answers per view."""

import pytest

torch = pytest.importorskip("torch")

from pseudolabel.learn.neural.augment import (  # noqa: E402
    Compose,
    Cutout,
    FeatureDropout,
    GaussianNoise,
    Identity,
    Mixup,
    RandAugment,
    RandomFlip,
    RandomShift,
    RandomSwap,
    Scarf,
    SpanDeletion,
    TokenDropout,
    default_views,
)


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


def vectors():
    return torch.randn(32, 6, generator=gen(1))


def images():
    return torch.rand(8, 1, 12, 12, generator=gen(2))


def tokens():
    ids = torch.randint(1000, 2000, (6, 12), generator=gen(3))
    ids[:, 0] = 101
    lengths = torch.tensor([12, 10, 8, 6, 4, 3])
    pos = torch.arange(12).unsqueeze(0)
    ids[pos == (lengths - 1).unsqueeze(1)] = 102
    ids[pos >= lengths.unsqueeze(1)] = 0
    return ids


CASES = [
    (GaussianNoise(0.1), vectors), (FeatureDropout(0.3), vectors), (Scarf(0.5), vectors), (Mixup(0.75), vectors),
    (RandomShift(0.25), images), (RandomFlip(0.5), images), (Cutout(0.5), images), (RandAugment(2), images),
    (default_views("image")[1], images), (default_views("vector")[1], vectors),
    (TokenDropout(0.3), tokens), (RandomSwap(2), tokens), (SpanDeletion(0.5), tokens), (default_views("tokens")[1], tokens),
]


@pytest.mark.parametrize("aug,data", CASES, ids=lambda c: type(c).__name__ if not callable(c) or hasattr(c, "fit") else c.__name__)
def test_shape_dtype_and_seeded(aug, data):
    x = data()
    before = x.clone()
    a, b, c = aug(x, gen(7)), aug(x, gen(7)), aug(x, gen(8))
    assert a.shape == x.shape and a.dtype == x.dtype
    assert torch.equal(a, b), "same seed must give the same view"
    assert not torch.equal(a, c), "another seed must give another view"
    assert torch.equal(x, before), "the input batch must not be modified"


def test_identity_and_zero_strength_views_are_exact():
    x, im = vectors(), images()
    assert torch.equal(Identity()(x, gen()), x)
    assert torch.equal(FeatureDropout(0.0)(x, gen()), x)
    assert torch.equal(Scarf(0.0).fit(x)(x, gen()), x)
    assert torch.equal(RandAugment(2, ops=("identity",))(im, gen()), im)
    assert torch.equal(RandomShift(0.0)(im, gen()), im)


def test_scarf_values_come_from_the_same_column_of_the_pool():
    pool = torch.arange(50.0).reshape(10, 5)  # column j holds values ≡ j (mod 5)
    x = torch.full((20, 5), -1.0)
    out = Scarf(1.0).fit(pool)(x, gen())
    assert torch.equal(out.remainder(5), torch.arange(5.0).expand(20, 5))


def test_mixup_keeps_each_row_dominant():
    x = torch.eye(16)
    out = Mixup(0.75)(x, gen())
    assert torch.equal(out.argmax(dim=1), torch.arange(16))
    assert (out.max(dim=1).values >= 0.5).all() and torch.allclose(out.sum(dim=1), torch.ones(16))


def test_shift_moves_a_pixel_by_whole_pixels_within_range():
    x = torch.zeros(50, 1, 16, 16)
    x[:, 0, 8, 8] = 1.0
    out = RandomShift(0.125, padding="zeros")(x, gen())
    assert torch.equal(out.sum(dim=(1, 2, 3)), torch.ones(50)), "one whole pixel, nothing interpolated"
    pos = out.flatten(1).argmax(dim=1)
    dy, dx = pos // 16 - 8, pos % 16 - 8
    assert dy.abs().max() <= 2 and dx.abs().max() <= 2 and (dy != 0).any() and (dx != 0).any()


def test_flip_is_exact_mirror_or_identity():
    x = images()
    out = RandomFlip(0.5)(x, gen())
    same = (out == x).flatten(1).all(1)
    mirrored = (out == x.flip(-1)).flatten(1).all(1)
    assert (same | mirrored).all() and same.any() and mirrored.any()


def test_cutout_fills_at_most_one_square():
    x = torch.zeros(20, 1, 10, 10)
    out = Cutout(0.5, fill=1.0)(x, gen())
    filled = out.sum(dim=(1, 2, 3))
    assert (filled <= 25).all() and (filled > 0).any()


def test_token_views_keep_specials_and_order():
    ids = tokens()
    n_special = (ids == 101).sum(1) + (ids == 102).sum(1)
    out = TokenDropout(1.0)(ids, gen())  # every ordinary token deleted: [CLS] [SEP] then padding
    assert torch.equal(out[:, 0], torch.full((6,), 101)) and torch.equal(out[:, 1], torch.full((6,), 102))
    assert (out[:, 2:] == 0).all()
    swapped = RandomSwap(3)(ids, gen())
    assert torch.equal(swapped.sort(dim=1).values, ids.sort(dim=1).values), "a swap keeps the multiset"
    assert torch.equal(swapped[:, 0], ids[:, 0]) and torch.equal((swapped == 102).sum(1) + (swapped == 101).sum(1), n_special)
    cut = SpanDeletion(0.5)(ids, gen())
    for row_in, row_out in zip(ids.tolist(), cut.tolist(), strict=True):  # a deletion keeps a subsequence
        kept = [t for t in row_out if t != 0]
        it = iter(row_in)
        assert all(t in it for t in kept) and kept[0] == 101 and kept[-1] == 102
    masked = TokenDropout(1.0, mask_id=103)(ids, gen())
    assert torch.equal(masked != 103, ~((ids != 0) & (ids != 101) & (ids != 102)))


def test_compose_applies_in_order():
    x = vectors()
    comp = Compose(FeatureDropout(1.0, fill=2.0), GaussianNoise(0.0))
    assert torch.equal(comp(x, gen()), torch.full_like(x, 2.0))
