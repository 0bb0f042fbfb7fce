import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def dirichlet_probs(rng, n: int, k: int, conc: float = 0.5) -> np.ndarray:
    return rng.dirichlet(np.full(k, conc), size=n)
