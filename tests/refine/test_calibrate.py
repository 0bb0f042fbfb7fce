import numpy as np

from pseudolabel.ops.simplex import softmax
from pseudolabel.refine import TemperatureScaling, fit_temperature


def test_recovers_the_temperature_that_generated_the_labels():
    # labels drawn from softmax(z / 2.5); the model reports softmax(z): overconfident by T = 2.5
    rng = np.random.default_rng(0)
    z = rng.normal(size=(20000, 5)) * 4
    true = softmax(z / 2.5, axis=1)
    y = (rng.random((len(z), 1)) > true.cumsum(axis=1)).sum(axis=1)
    reported = softmax(z, axis=1)
    t = fit_temperature(reported, y)
    assert abs(t - 2.5) < 0.1


def test_keeps_argmax_and_identity_until_fit(rng):
    p = rng.dirichlet(np.ones(4) * 0.3, size=50)
    ts = TemperatureScaling()
    np.testing.assert_allclose(ts(p), p, atol=1e-12)
    ts.fit(p, p.argmax(axis=1))  # perfectly right and confident: T shrinks (sharpens)
    assert ts.temperature_ < 1.0
    out = ts(p)
    np.testing.assert_array_equal(out.argmax(axis=1), p.argmax(axis=1))
    np.testing.assert_allclose(out.sum(axis=1), 1, atol=1e-12)
