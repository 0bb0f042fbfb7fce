import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

# Property-based tests (tests/test_properties.py). The default profile keeps them fast and
# reproducible (a fixed set of examples, nothing written to disk); the long one searches for real:
#
#     PYTHONPATH=src python -m pytest tests/test_properties.py --hypothesis-profile=long
#
# (--hypothesis-seed=N replays a random run; a failure prints the example to reproduce it.)
try:
    from hypothesis import HealthCheck, settings
except ImportError:  # pragma: no cover - hypothesis is a dev dependency
    pass
else:
    _QUIET = [HealthCheck.too_slow, HealthCheck.data_too_large]
    settings.register_profile(
        "default", max_examples=15, deadline=None, derandomize=True, database=None, print_blob=True, suppress_health_check=_QUIET
    )
    settings.register_profile("long", max_examples=500, deadline=None, database=None, print_blob=True, suppress_health_check=_QUIET)
    settings.load_profile("default")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def dirichlet_probs(rng, n: int, k: int, conc: float = 0.5) -> np.ndarray:
    return rng.dirichlet(np.full(k, conc), size=n)
