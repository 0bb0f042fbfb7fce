import pytest

from pseudolabel.core.registry import available, make, parse_spec, split_specs
from pseudolabel.select import FlexMatch


def test_parse_and_make():
    assert parse_spec("FlexMatch(threshold=0.9, warmup=False)") == ("flexmatch", {"threshold": 0.9, "warmup": False})
    sel = make("select", "flexmatch(threshold=0.8)")
    assert isinstance(sel, FlexMatch) and sel.threshold == 0.8
    obj = FlexMatch()
    assert make("select", obj) is obj


def test_split_specs_respects_parentheses():
    assert split_specs("calibrate, sinkhorn(prior=[0.5,0.5]),align") == ["calibrate", "sinkhorn(prior=[0.5,0.5])", "align"]


def test_errors_list_choices():
    with pytest.raises(ValueError, match="choose one of"):
        make("select", "nope")
    with pytest.raises(ValueError, match="keyword=literal"):
        make("select", "flexmatch(0.9)")
    with pytest.raises(ValueError, match="bad arguments"):
        make("select", "flexmatch(nope=1)")


def test_every_registered_component_constructs_with_defaults():
    for kind in ("teacher", "refine", "select"):
        for name, cls in available(kind).items():
            obj = cls()
            assert obj.get_params() is not None, name
