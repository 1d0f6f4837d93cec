"""`dsbench summary`, `--help` and `--version` through the CLI, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from dsbench import __version__
from dsbench.cli.main import app


def test_summary_table_shows_exact_counts(runner: CliRunner) -> None:
    result = runner.invoke(app, ["summary"])
    assert result.exit_code == 0, result.output
    assert "1,186,378" in result.output and "174,821" in result.output
    assert "152.81 M" in result.output and "18.30 M" in result.output
    assert "0.147x" in result.output  # params ratio


def test_summary_json_is_only_json(runner: CliRunner) -> None:
    result = runner.invoke(app, ["summary", "--json"])
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    counts = {m["model"]: m["params"] for m in document["models"]}
    assert counts == {"normal": 1_186_378, "separable": 174_821}
    macs = {m["model"]: m["macs_per_image"] for m in document["models"]}
    assert macs == {"normal": 152_805_376, "separable": 18_295_808}
    assert document["spec"]["blocks"] == "64x2,128x2,256x2"


def test_summary_layers_lists_six_convs_per_model(runner: CliRunner) -> None:
    result = runner.invoke(app, ["summary", "--layers", "--json"])
    layers = json.loads(result.stdout)["layers"]
    for kind, conv in (("normal", "Conv2D"), ("separable", "SeparableConv2D")):
        rows = [r for r in layers if r["model"] == kind and r["type"] == conv]
        assert len(rows) == 6
    table = runner.invoke(app, ["summary", "--layers"]).output
    assert table.count("SeparableConv2D") == 6 and "block3_conv2" in table


def test_summary_one_model_and_other_architectures(runner: CliRunner) -> None:
    result = runner.invoke(
        app,
        [
            "summary",
            "--model",
            "separable",
            "--kernel-size",
            "5",
            "--blocks",
            "32x1,64x1",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)["models"]
    # 5x5 depthwise + pointwise per layer, then Dense(8*8*64 -> 10)
    expected = (25 * 3 + 3 * 32 + 32) + (25 * 32 + 32 * 64 + 64) + (8 * 8 * 64 * 10 + 10)
    assert row["model"] == "separable" and row["params"] == expected


def test_summary_reads_a_config_and_flags_override_it(runner: CliRunner, tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text('[model]\nblocks = "8x1"\nkernel_size = 5\n')
    result = runner.invoke(
        app, ["summary", "--config", str(config), "--kernel-size", "3", "--json"]
    )
    spec = json.loads(result.stdout)["spec"]
    assert spec["blocks"] == "8x1" and spec["kernel_size"] == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["summary", "--blocks", "64x"], "malformed --blocks '64x'"),
        (["summary", "--model", "depthwise"], "error: --model: "),
        (["summary", "--kernel-size", "0"], "--kernel-size must be >= 1, got 0"),
        (["summary", "--config", "/nonexistent.toml"], "does not exist"),
        (
            ["summary", "--arch", "net.py:build", "--kernel-size", "5"],
            "error: --kernel-size 5 is the VGG's, and --arch builds its own layers (if your "
            "builder takes a kernel size, give --arch-options kernel_size=5)",
        ),
    ],
)
def test_summary_bad_input_is_one_clear_error(
    runner: CliRunner, args: list[str], message: str
) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert "Traceback" not in result.output


def test_version_and_python_dash_m(runner: CliRunner) -> None:
    assert runner.invoke(app, ["--version"]).output.strip() == f"dsbench {__version__}"
    out = subprocess.run(
        [sys.executable, "-m", "dsbench", "--help"], capture_output=True, text=True, check=True
    )
    assert "compare" in out.stdout and "summary" in out.stdout


def test_the_tools_own_help_lists_every_command_at_80_columns(runner: CliRunner) -> None:
    import typer.main

    text = runner.invoke(app, ["--help"], terminal_width=80).output
    assert max(len(line) for line in text.splitlines()) <= 80 and "…" not in text
    assert "<bool>" not in text  # no type shown for a flag (Typer's own layout shows one)
    assert "-V, --version" in text and "-h, --help" in text
    group = typer.main.get_command(app)
    for name in group.commands:  # type: ignore[attr-defined]
        assert f"│ {name} " in text, name


def test_help_gives_jit_s_default_on_every_backend(runner: CliRunner) -> None:
    text = runner.invoke(app, ["compare", "--help"], terminal_width=200).output
    assert "[default: off; JAX: on]" in " ".join(text.replace("│", " ").split())


def test_every_command_has_help_text(runner: CliRunner) -> None:
    import typer.main

    group = typer.main.get_command(app)
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        assert command.help, f"{name} has no help text"
        assert runner.invoke(app, [name, "--help"]).exit_code == 0


def test_every_choice_is_in_its_option_s_help(runner: CliRunner) -> None:
    """An option with a fixed set of values shows every value in its help: Typer's choices,
    a setting's declared choices, the values a sweep axis takes; and -o and -b mean one thing on
    every command that has them."""
    import typer.main

    from dsbench.cli.options import CHOICES
    from dsbench.spec.settings import BACKENDS, PRECISIONS, SETTINGS, describe

    axes = {"sweep_backends": BACKENDS, "sweep_precisions": PRECISIONS}
    group = typer.main.get_command(app)
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        flat = " ".join(runner.invoke(app, [name, "--help"], terminal_width=100).output
                        .replace("│", " ").split())  # fmt: skip
        for param in command.params:
            values: tuple[str, ...] = ()
            if param.name in CHOICES:  # an option that is not a setting, e.g. train --model
                values = tuple(CHOICES[param.name].__members__)
            elif param.name in SETTINGS and describe(param.name).choices:
                values = describe(param.name).choices
            elif param.name in axes:
                values = axes[param.name]
            own = " ".join([param.help or "", str(param.metavar or ""), flat])
            missing = [v for v in values if v not in own]
            assert missing == [], (name, param.name, missing)
            if "-o" in param.opts:
                assert param.name in ("output_dir", "report_output"), (name, param.name)
            if "-b" in param.opts:
                assert "batch" in str(param.name), (name, param.name)
        if name in ("sweep", "bench"):
            assert "-b, --batch-size" in flat, name
    assert set(CHOICES["summary_model"].__members__) == {"both", "normal", "separable"}


@pytest.mark.parametrize("width", [80, 100, 160])
def test_every_help_reads_whole_at_any_width(
    runner: CliRunner, width: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every line fits, nothing is cut with "…", and every option is there under its own name
    import typer.main
    from typer import rich_utils

    monkeypatch.setattr(rich_utils, "MAX_WIDTH", width)
    group = typer.main.get_command(app)
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        text = runner.invoke(app, [name, "--help"], terminal_width=width).output
        lines = text.splitlines()
        assert max(len(line) for line in lines) <= width, name
        assert "…" not in text, f"{name} --help cuts a line at {width} columns"
        flat = " ".join(text.replace("│", " ").split())
        for param in command.params:
            shown = [o.replace("--", "--[no-]", 1) if param.secondary_opts else o
                     for o in param.opts if o.startswith("--")]  # fmt: skip
            assert any(o in flat for o in shown) or param.param_type_name == "argument", (
                name,
                shown,
            )
    if width == 80:
        compare = runner.invoke(app, ["compare", "--help"], terminal_width=80).output
        # about half of the 216 lines Typer's layout took, every choice and default listed
        assert len(compare.splitlines()) <= 120
        assert "--[no-]keep-partial-batch" in compare and "-e, --epochs N" in compare
        bench = " ".join(runner.invoke(app, ["bench", "--help"]).output.replace("│", " ").split())
        assert "cifar10 or synthetic (offline, learnable). [default: synthetic]" in bench


def test_every_choice_is_in_the_help(runner: CliRunner) -> None:
    from dsbench.cli.main import app
    from dsbench.spec.settings import KINDS, PRECISIONS

    def flat(*args: str) -> str:
        shown = runner.invoke(app, [*args, "--help"], terminal_width=100).output
        return " ".join(shown.replace("│", " ").split())

    for command in ("compare", "train", "bench"):
        assert all(p in flat(command) for p in PRECISIONS), command
    assert "Which model to train. One of: normal, separable." in flat("train")
    assert f"One of: both, {', '.join(KINDS)}." in flat("summary")
    assert "mixed_float16" in flat("sweep")


def test_each_separable_layer_splits_into_depthwise_and_pointwise(runner: CliRunner) -> None:
    from dsbench.models.vgg import describe
    from dsbench.spec.settings import ModelSpec

    _, layers = describe(ModelSpec())
    separable = [row for row in layers if row["type"] == "SeparableConv2D"]
    assert len(separable) == 6
    for row in separable:
        assert row["depthwise_params"] + row["pointwise_params"] == row["params"]
        assert row["depthwise_macs"] + row["pointwise_macs"] == row["macs"]
    first = separable[0]  # 3x3 over 3 channels at 32x32, then 1x1 from 3 to 64 (with the bias)
    assert (first["depthwise_params"], first["depthwise_macs"]) == (27, 32 * 32 * 3 * 9)
    assert (first["pointwise_params"], first["pointwise_macs"]) == (3 * 64 + 64, 32 * 32 * 3 * 64)
    shown = runner.invoke(app, ["summary", "--model", "separable", "--layers"]).output
    assert shown.count("depthwise") >= 6 and "DepthwiseConv2D" in shown
    assert "depthwise 7.0% of the MACs, pointwise 92.8%" in " ".join(shown.split())
