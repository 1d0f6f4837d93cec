"""Config files and the --blocks parser: valid input parses, anything else is a DsbenchError."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dsbench.errors import DsbenchError
from dsbench.spec.blocks import parse_blocks
from dsbench.spec.config import build_run_spec, load_config, run_spec, validate_config
from dsbench.spec.settings import REFERENCE_BLOCKS, ModelSpec, RunSpec

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_seed_config_is_the_reference_setup() -> None:
    spec = run_spec(config=CONFIGS / "seed.toml")
    assert spec.model == ModelSpec(depthwise_init="keras")
    assert spec.model.blocks == REFERENCE_BLOCKS
    assert (spec.train.epochs, spec.train.batch_size, spec.train.learning_rate) == (10, 128, 0.001)
    assert spec.data.dataset == "cifar10" and spec.data.rescale is False


def test_quick_config_is_a_small_synthetic_run() -> None:
    spec = run_spec(config=CONFIGS / "quick.toml")
    assert spec.data.dataset == "synthetic" and spec.train.epochs == 2
    assert spec.data.train_size is not None and spec.data.train_size <= 2000


def test_command_line_overrides_the_file_which_overrides_defaults() -> None:
    config = {"train": {"epochs": 2, "batch_size": 64}}
    spec = run_spec({"epochs": 5, "batch_size": None}, base=config)
    assert spec.train.epochs == 5  # the flag
    assert spec.train.batch_size == 64  # the file, since the flag was not given
    assert spec.train.learning_rate == RunSpec().train.learning_rate  # the default


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[train]\nepochz = 3\n", r"unknown key 'epochz' in \[train\].*allowed keys: epochs"),
        ("[trian]\nepochs = 3\n", r"unknown section \[trian\]"),
        ('[train]\nepochs = "ten"\n', r"\[train\] epochs must be an integer, got 'ten'"),
        ("[train]\nepochs = 0\n", r"\[train\] epochs must be >= 1"),
        ("[train]\nlearning_rate = -1.0\n", r"learning_rate must be a positive number"),
        ('[model]\nblocks = "64x"\n', r"\[model\] blocks: malformed blocks '64x'"),
        ('[data]\ndataset = "mnist"\n', r"dataset must be one of cifar10, synthetic"),
        ("[data]\nrescale = 1\n", r"rescale must be true or false"),
        ("[train\nepochs = 3\n", r"is not valid TOML"),
    ],
)
def test_config_errors_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(DsbenchError, match=message) as info:
        load_config(path)
    assert str(path) in info.value.message


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(DsbenchError, match=r"does not exist"):
        load_config(tmp_path / "nope.toml")


def test_blocks_parse_and_format_round_trip() -> None:
    assert parse_blocks("64x2,128x2,256x2") == REFERENCE_BLOCKS
    assert parse_blocks(" 8X1 , 16x3 ") == ((8, 1), (16, 3))
    assert ModelSpec(blocks=((8, 1), (16, 3))).blocks_text == "8x1,16x3"


@pytest.mark.parametrize("text", ["", "64", "64x", "x2", "64x0", "0x2", "64x2,", "6x1," * 6, "a,b"])
def test_malformed_blocks_are_refused(text: str) -> None:
    with pytest.raises(DsbenchError, match=r"malformed blocks"):
        parse_blocks(text)


@given(st.text(max_size=40))
def test_any_blocks_text_parses_or_raises_the_documented_error(text: str) -> None:
    try:
        blocks = parse_blocks(text)
    except DsbenchError as err:
        assert err.message.startswith("malformed blocks") and err.settings == ("blocks",)
        return
    assert 1 <= len(blocks) <= 5
    assert all(f >= 1 and n >= 1 for f, n in blocks)
    ModelSpec(blocks=blocks)  # a parsed spec is always buildable


@given(st.lists(st.tuples(st.integers(1, 512), st.integers(1, 4)), min_size=1, max_size=5))
def test_valid_blocks_round_trip(blocks: list[tuple[int, int]]) -> None:
    text = ",".join(f"{f}x{n}" for f, n in blocks)
    assert parse_blocks(text) == tuple(blocks)


toml_values = st.one_of(
    st.integers(-5, 300),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.booleans(),
    st.lists(st.integers(-1, 40), max_size=4),
)
config_dicts = st.dictionaries(
    st.sampled_from(["model", "data", "train", "other"]),
    st.dictionaries(
        st.sampled_from(
            [
                "epochs",
                "batch_size",
                "blocks",
                "dataset",
                "rescale",
                "kernel_size",
                "input_shape",
                "learning_rate",
                "bogus",
                "jit",
                "precision",
                "arch_options",
            ]
        ),
        toml_values,
        max_size=4,
    ),
    max_size=3,
)


@given(config_dicts)
def test_any_config_validates_or_raises_the_documented_error(raw: dict[str, Any]) -> None:
    try:
        sections = validate_config(raw, "cfg.toml")
        build_run_spec(sections)
    except DsbenchError as err:
        # a key's error names the file; only the image/pooling check comes from the spec itself
        pooled = re.fullmatch(r"\d+ blocks pool a \d+x\d+ image down to nothing", err.message)
        assert err.message.startswith("cfg.toml: ") or pooled, err.message


def _settings() -> st.SearchStrategy[dict[str, Any]]:
    """Valid settings by name, any combination: what a user may give."""
    from dsbench.spec import settings as s

    blocks = st.lists(st.tuples(st.integers(1, 512), st.integers(1, 3)), min_size=1, max_size=4)
    steps = st.tuples(st.integers(1, 20), st.integers(0, 20)).map(lambda t: (t[0], t[0] + t[1]))
    fields = {
        "blocks": blocks.map(lambda b: ",".join(f"{f}x{n}" for f, n in b)),
        "kernel_size": st.integers(1, 7), "depthwise_init": st.sampled_from(s.DEPTHWISE_INITS),
        "dataset": st.sampled_from(s.DATASETS), "data_dir": st.text(min_size=1, max_size=12),
        "train_size": st.integers(1, 60_000), "test_size": st.integers(1, 10_000),
        "rescale": st.booleans(), "epochs": st.integers(1, 500), "batch_size": st.integers(1, 4096),
        "backend": st.sampled_from(s.BACKENDS), "seed": st.integers(0, 2**31),
        "learning_rate": st.floats(1e-6, 1.0), "repeats": st.integers(1, 5),
        "processes": st.integers(1, 5), "jit": st.sampled_from([True, False, "auto"]),
        "precision": st.sampled_from(s.PRECISIONS), "steps_per_execution": st.integers(1, 64),
        "strategy": st.sampled_from(s.STRATEGIES),
        "devices": st.lists(st.sampled_from(["/gpu:0", "/gpu:1", "/cpu:0"]), max_size=2)
        .map(",".join),
        "scale_lr": st.booleans(), "deterministic": st.booleans(), "inference": st.booleans(),
        "checkpoint": st.booleans(), "schedule": st.sampled_from(s.SCHEDULES),
        "keep_partial_batch": st.booleans(), "target_accuracy": st.floats(0.01, 1.0),
    }  # fmt: skip
    chosen = st.fixed_dictionaries({}, optional=fields)
    traced = st.fixed_dictionaries({"tensorboard": st.just("tb"), "profile_steps": steps.map(
        lambda t: f"{t[0]},{t[1]}")})  # fmt: skip
    options = st.dictionaries(st.sampled_from(["width", "kernel_size", "depth", "name"]),
                              st.one_of(st.integers(), st.floats(allow_nan=False), st.booleans(),
                                        st.text(max_size=5)), max_size=3)  # fmt: skip
    own = st.fixed_dictionaries({"arch": st.sampled_from(["net.py:build", "keras.applications."
                                                          "MobileNetV2"]), "arch_options": options})  # fmt: skip
    vgg = ("blocks", "kernel_size")  # the VGG's shape: refused beside your own arch
    return st.tuples(chosen, st.booleans(), traced, st.booleans(), own).map(
        lambda c: {
            **{
                k: v
                for k, v in c[0].items()
                if not (c[3] and k in vgg)
                and not (k == "data_dir" and c[0].get("dataset") == "synthetic")
            },
            **(c[2] if c[1] else {}),
            **(c[4] if c[3] else {}),
        }
    )


@given(_settings())
def test_a_spec_comes_back_whole_from_its_saved_settings(given_settings: dict[str, Any]) -> None:
    """as_dict -> JSON -> spec_from_dict gives the same RunSpec, for any valid settings: what
    a results folder saves is what resume trains with (a saved jit of True, False or auto
    included, and a JAX run's jit default)."""
    import json

    from dsbench.spec.config import spec_from_dict

    spec = run_spec(given_settings)
    saved = json.loads(json.dumps(spec.as_dict()))
    assert spec_from_dict(saved) == spec


def test_arch_options_come_as_a_table_or_as_name_value_text() -> None:
    net = {"arch": "net.py:build"}
    given = run_spec({**net, "arch_options": "width=0.5, kernel_size=5,name=wide,bn=false"})
    assert dict(given.model.arch_options) == {"width": 0.5, "kernel_size": 5, "name": "wide",
                                              "bn": False}  # fmt: skip
    assert run_spec({**net, "arch_options": {"width": 0.5}}).model.arch_options == (("width", 0.5),)
    with pytest.raises(DsbenchError, match="'width' is not NAME=VALUE"):
        run_spec({**net, "arch_options": "width"})
    with pytest.raises(DsbenchError, match="gives width more than once"):
        run_spec({**net, "arch_options": "width=1,depth=2,width=2"})  # was: the last one, silently
    with pytest.raises(DsbenchError, match="must be a table of keyword arguments"):
        run_spec({**net, "arch_options": {"not a name": 1}})
    with pytest.raises(DsbenchError, match="no arch was given"):
        run_spec({"arch_options": {"width": 0.5}})
    with pytest.raises(DsbenchError, match="may not set num_classes: dsbench passes it"):
        run_spec({**net, "arch_options": "num_classes=3"})


def test_the_vgg_s_kernel_size_and_blocks_are_refused_beside_your_arch(tmp_path: Path) -> None:
    from dsbench.spec.config import spec_from_dict

    net = {"arch": "net.py:build"}
    with pytest.raises(DsbenchError, match="kernel_size 5 is the VGG's") as raised:
        run_spec({**net, "kernel_size": 5})  # was ignored without a word
    assert "arch_options kernel_size=5" in raised.value.hint
    with pytest.raises(DsbenchError, match="blocks 8x1 are the VGG's"):
        run_spec({**net, "blocks": "8x1"})
    config = tmp_path / "net.toml"
    config.write_text('[model]\narch = "net.py:build"\nkernel_size = 3\n')
    with pytest.raises(DsbenchError, match="kernel_size 3 is the VGG's"):
        run_spec(config=config)
    config.write_text("[model]\nkernel_size = 5\n")  # a VGG config, your arch given beside it
    with pytest.raises(DsbenchError, match="kernel_size 5 is the VGG's"):
        run_spec(net, config=config)
    saved = run_spec({**net, "arch_options": "kernel_size=5"}).as_dict()  # kernel_size 3 in it
    assert spec_from_dict(saved).model.arch_options == (("kernel_size", 5),)  # resume: fine


def test_a_run_of_your_network_is_no_baseline_for_the_vgg() -> None:
    from dsbench.measure.baseline import differences

    vgg = {"model": {"blocks": "64x2,128x2,256x2"}}
    mine = {"model": {"arch": "net.py:build", "arch_options": {"width": 0.5}}}
    assert differences(mine, vgg)[:2] == ["arch None -> 'net.py:build'",
                                          "arch_options {} -> {'width': 0.5}"]  # fmt: skip
    assert differences(mine, mine) == []
