import numpy as np
from scipy.stats import binomtest

from pseudolabel.ops.selection_test import max_t_pvalue, paired_t


def test_paired_t_is_the_studentised_sum_and_zero_without_differences():
    D = np.array([[1, 1, -1, 0], [0, 0, 0, 0], [1, 1, 1, 1]], dtype=float)
    np.testing.assert_allclose(paired_t(D), [1 / np.sqrt(3), 0.0, 2.0])


def test_one_option_matches_the_exact_sign_test():
    # one option: the sign-flip null of Σd/√Σd² is the sign test on the rows that differ
    d = np.zeros(60)
    d[:9] = 1
    d[9:11] = -1
    p = max_t_pvalue(d[None, :], 0, n_flips=20000, seed=1)
    exact = binomtest(9, 11, 0.5, alternative="greater").pvalue
    assert abs(p - exact) < 0.01


def test_no_gain_gives_one_and_duplicates_change_nothing():
    d = np.array([1.0, -1, -1, 0, 0])
    assert max_t_pvalue(d[None, :], 0) == 1.0
    assert max_t_pvalue(np.zeros((3, 0)), 0) == 1.0
    strong = np.r_[np.ones(8), np.zeros(12)]
    once = max_t_pvalue(strong[None, :], 0, seed=3)
    thrice = max_t_pvalue(np.vstack([strong, strong, strong]), 2, seed=3)
    assert once == thrice < 0.01


def test_the_best_of_many_noise_options_is_not_significant():
    # the winner's curse this test exists for: 40 options that are pure noise against the floor on
    # 30 labeled rows; the best one looks significant on its own, not once the search is accounted for
    rng = np.random.default_rng(0)
    naive, corrected = [], []
    for _ in range(100):
        D = rng.choice([-1.0, 0.0, 0.0, 1.0], size=(40, 30))
        best = int(paired_t(D).argmax())
        wins, losses = int((D[best] > 0).sum()), int((D[best] < 0).sum())
        naive.append(binomtest(wins, wins + losses, 0.5, alternative="greater").pvalue)
        corrected.append(max_t_pvalue(D, best, n_flips=400, seed=int(rng.integers(1 << 30))))
    naive, corrected = np.array(naive), np.array(corrected)
    assert (naive <= 0.2).mean() > 0.8  # the uncorrected test is fooled most of the time
    assert (corrected <= 0.2).mean() <= 0.2 + 0.08  # the corrected one at its level (100 draws)
    assert (corrected <= 0.1).mean() <= 0.1 + 0.07


def test_a_real_gain_among_noise_options_is_found():
    rng = np.random.default_rng(1)
    D = rng.choice([-1.0, 0.0, 0.0, 1.0], size=(20, 80))
    D[7] = rng.choice([-1.0, 0.0, 1.0], p=[0.02, 0.60, 0.38], size=80)  # wins far more often than it loses
    assert int(paired_t(D).argmax()) == 7
    assert max_t_pvalue(D, 7) < 0.01
