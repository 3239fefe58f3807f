import json

import pytest

from postag.errors import ConfigError
from postag.export.train.config import PRESETS, ModelConfig, TrainConfig


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_round_trip_through_json(name):
    model, train = PRESETS[name]
    assert ModelConfig.from_dict(json.loads(json.dumps(model.to_dict()))) == model
    assert TrainConfig.from_dict(json.loads(json.dumps(train.to_dict()))) == train


def test_seed_preset_is_the_tutorial_model():
    model, train = PRESETS["seed"]
    assert (model.layers, model.bidirectional, model.char_hidden) == (1, False, 0)
    assert (train.optimizer, train.lr) == ("sgd", 0.1)


def test_bad_config_is_a_clear_error():
    with pytest.raises(ConfigError, match=r"unknown field\(s\) \['hiden'\]"):
        ModelConfig.from_dict({"hiden": 3})
    with pytest.raises(ConfigError, match="ModelConfig.layers: expected int"):
        ModelConfig.from_dict({"layers": "2"})
    with pytest.raises(ConfigError, match="expected a JSON object"):
        TrainConfig.from_dict([1, 2])
    assert TrainConfig.from_dict({"lr": 1}).lr == 1.0
