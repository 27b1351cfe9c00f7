"""The execution-cost and severity scales (expected_harm.scales)."""

from importlib import resources

import pytest
import yaml

from expected_harm.scales import LEVELS, _parse_scale, load_scales


@pytest.mark.parametrize("key", ["cost", "severity"])
def test_each_scale_has_five_ordered_levels_with_text(key):
    scale = load_scales()[key]
    assert tuple(level.level for level in scale.levels) == LEVELS
    for level in scale.levels:
        assert level.label and level.definition and level.example
    assert scale.question.endswith("?")


def test_scales_carry_version_and_source():
    scales = load_scales()
    assert scales.version.strip()
    assert "2602.01600" in scales.source


def test_cost_scale_weighs_the_four_dimensions_of_the_paper():
    names = [d.name for d in load_scales().cost.dimensions]
    assert names == ["expertise", "equipment and materials", "time", "legal exposure"]
    assert load_scales().cost.dimension_keys == ("expertise", "equipment", "time", "legal")
    assert load_scales().severity.dimension_keys == ("magnitude", "breadth", "reversibility")


@pytest.mark.parametrize("keys", [[None, "b"], ["a", "a"], ["a", "two words"]])
def test_a_dimension_without_its_own_key_is_refused(keys):
    raw = yaml.safe_load(
        resources.files("expected_harm").joinpath("prompts/scales.yaml").read_text("utf-8")
    )["cost"]
    raw["dimensions"] = [
        {"key": key, "name": f"d{i}", "description": "x"} for i, key in enumerate(keys)
    ]
    with pytest.raises(ValueError, match="own 'key'"):
        _parse_scale("cost", raw)


@pytest.mark.parametrize("key", ["cost", "severity"])
def test_frames_have_one_row_per_level_and_per_dimension(key):
    scale = load_scales()[key]
    frame = scale.as_frame()
    assert frame.columns.tolist() == ["level", "label", "definition", "example"]
    assert frame["level"].tolist() == list(LEVELS)
    assert len(scale.dimensions_frame()) == len(scale.dimensions)


def test_unknown_level_or_scale_raises_naming_it():
    with pytest.raises(ValueError, match="6"):
        load_scales().cost.level(6)
    with pytest.raises(ValueError, match="harm"):
        load_scales()["harm"]  # type: ignore[index]
