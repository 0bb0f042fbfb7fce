import numpy as np

from pseudolabel.refine import LabelCorrection
from pseudolabel.select import GMMGate


def _noisy_round(rng, n=200, n_bad=40):
    """Teacher says class 0 for everyone; the student agrees on the first rows, and is sure
    of class 1 on the last ``n_bad`` rows (the teacher's mistakes)."""
    teacher = np.tile([0.9, 0.1], (n, 1))
    student = np.column_stack([rng.uniform(0.85, 0.99, n), np.zeros(n)])
    student[-n_bad:, 0] = rng.uniform(0.01, 0.08, n_bad)
    student[:, 1] = 1 - student[:, 0]
    return teacher, student


def test_gated_out_sample_gets_the_students_label(rng):
    teacher, student = _noisy_round(rng)
    lc = LabelCorrection()
    out = lc(teacher, student_probs=student)
    np.testing.assert_array_equal(lc.info_["corrected"], np.arange(200) >= 160)
    np.testing.assert_array_equal(out.argmax(1), (np.arange(200) >= 160).astype(int))
    np.testing.assert_allclose(out[:160], teacher[:160])


def test_unsure_student_does_not_correct(rng):
    teacher, student = _noisy_round(rng)
    student[-40:] = [0.45, 0.55]  # gated out, but the student's 0.55 is below the 0.6 bar
    lc = LabelCorrection(threshold=0.6)
    out = lc(teacher, student_probs=student)
    assert lc.n_corrected_ == 0
    np.testing.assert_allclose(out, teacher)


def test_round_zero_is_identity():
    p = np.array([[0.6, 0.4], [0.2, 0.8]])
    lc = LabelCorrection()
    np.testing.assert_allclose(lc(p, student_probs=None), p)
    assert lc.n_corrected_ == 0


def test_correction_then_gate_keeps_corrected_rows(rng):
    # DLG-LC end to end: without LC the 40 wrong rows are gated out; with LC they pass relabeled
    teacher, student = _noisy_round(rng)
    gate = GMMGate()
    w_plain = gate(teacher, student_probs=student)
    assert w_plain[-40:].sum() == 0 and w_plain[:160].all()
    fixed = LabelCorrection()(teacher, student_probs=student)
    w_lc = gate(fixed, student_probs=student)
    assert w_lc.all()


def test_methods_known_answer_single_row(rng):
    # docs/methods/select.md, `gmm`: a gated-out sample with model p = (0.05, 0.95) and PL 0 gets label 1
    teacher = np.tile([0.8, 0.2], (60, 1))
    student = np.column_stack([u := rng.uniform(0.9, 0.99, 60), 1 - u])
    student[-1] = [0.05, 0.95]
    out = LabelCorrection()(teacher, student_probs=student)
    assert out[-1].argmax() == 1
    assert (out[:-1].argmax(1) == 0).all()
