import numpy as np
import pytest
from sklearn.base import clone

from pseudolabel.core import Refiner, Selector, Teacher, available, resolve_momentum


def test_registered_components_satisfy_protocols():
    for cls in available("select").values():
        assert isinstance(cls(), Selector)
    for cls in available("refine").values():
        assert isinstance(cls(), Refiner)
    for cls in available("teacher").values():
        assert isinstance(cls(), Teacher)


def test_clone_drops_running_state():
    sel = available("select")["freematch"](momentum=0.5)
    sel.update(np.array([[0.9, 0.1]]))
    fresh = clone(sel)
    assert fresh.state_dict() == {}
    assert sel.state_dict()["tau_"] != 0.5


def test_class_count_change_is_refused():
    sel = available("select")["softmatch"]()
    sel.update(np.full((2, 3), 1 / 3))
    with pytest.raises(ValueError, match="reset"):
        sel.update(np.full((2, 2), 0.5))


def test_resolve_momentum():
    assert resolve_momentum(None, True) == 0.0
    assert resolve_momentum(None, False) == 0.999
    assert resolve_momentum(0.9, True) == 0.9
    with pytest.raises(ValueError):
        resolve_momentum(1.0, False)
