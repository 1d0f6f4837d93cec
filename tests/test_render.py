"""Every table on consoles 80, 100, 120 and 160 columns wide: no figure is ever cut."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from rich.console import Console
from rich.table import Table

from dsbench import render
from dsbench.measure import sweep as sweeps
from dsbench.measure.comparison import model_rows
from dsbench.models.vgg import describe
from dsbench.spec import grid
from dsbench.spec.settings import ModelSpec

WIDTHS = (80, 100, 120, 160)


def figures(table: Table) -> list[str]:
    """The cells of the table's no-wrap (figure) columns that hold a number."""
    return [str(cell) for column in table.columns if column.no_wrap for cell in column._cells
            if any(ch.isdigit() for ch in str(cell))]  # fmt: skip


def rendered(table: Table, width: int) -> str:
    console = Console(file=io.StringIO(), width=width, force_terminal=True, color_system=None)
    console.print(render.fit(console, table))
    return console.file.getvalue()  # type: ignore[attr-defined]


def bench_rows() -> pd.DataFrame:
    row: dict[str, Any] = {"mode": "train", "batch_size": 128, "chunk_steps": 3, "pairs": 9,
                           "ratio": 0.3612, "ratio_low": 0.3402, "ratio_high": 0.3811,
                           "ratio_half_width": 0.057, "target_reached": False, "seconds": 58.1}  # fmt: skip
    for kind, ms in (("normal", 516.2), ("separable", 186.4)):
        row.update({f"{kind}_ms_per_step": ms, f"{kind}_ms_per_step_low": ms * 0.9,
                    f"{kind}_ms_per_step_high": ms * 1.7, f"{kind}_images_per_s": 128e3 / ms,
                    f"{kind}_est_gflop_per_s": 300.0, f"{kind}_bimodal": False})  # fmt: skip
    return pd.DataFrame([row, {**row, "mode": "infer", "batch_size": 1}])


def tables(made_results: Any) -> dict[str, Callable[[], Table]]:
    models, layers = describe(ModelSpec())
    summary = model_rows(made_results())
    base = ModelSpec()
    points = grid.points_for(base, "3,5,7", "0.5,1", None)
    trained = pd.concat([sweeps.trained_rows(p, base, summary) for p in points], ignore_index=True)
    report = pd.concat([summary.assign(run="runs/20261126T101500Z-compare-a-long-folder-name"),
                        summary.assign(run="runs/b")], ignore_index=True)  # fmt: skip
    return {
        "summary": lambda: render.summary_table(models, "Models for 32x32 images"),
        "layers": lambda: render.layers_table(layers, "separable"),
        "compare": lambda: render.compare_table(summary, "dsbench compare: synthetic"),
        "report": lambda: render.report_table(report),
        "sweep (params only)": lambda: render.sweep_table(
            sweeps.cost_rows(points, base), sweeps.ratios(sweeps.cost_rows(points, base)), "s"
        ),
        "sweep (trained)": lambda: render.sweep_table(trained, sweeps.ratios(trained), "t"),
        "bench": lambda: render.bench_table(bench_rows(), "dsbench bench"),
        "epochs": lambda: render.epoch_table(made_results()[0]),
    }


@pytest.mark.parametrize("width", WIDTHS)
def test_every_table_shows_every_figure_whole(made_results: Any, width: int) -> None:
    for name, make in tables(made_results).items():
        expected = figures(make())
        assert expected, name
        text = rendered(make(), width)
        assert "…" not in text, (name, width)
        missing = [figure for figure in expected if figure not in text]
        assert not missing, (name, width, missing[:5])


def test_a_table_that_fits_keeps_its_layout(made_results: Any) -> None:
    table = render.summary_table(describe(ModelSpec())[0], "Models")
    assert rendered(table, 160).count("┏") == 1  # one table, models as rows
    # at 80 columns: turned on its side, the models still side by side (one table, models as
    # columns), not one box per model
    narrow = rendered(render.summary_table(describe(ModelSpec())[0], "Models"), 80)
    assert narrow.count("┏") == 1
    assert any("normal" in line and "separable" in line for line in narrow.splitlines())
    assert any("params vs normal" in line and "0.147x" in line for line in narrow.splitlines())
    # a sweep of three kernel sizes: a column per point, titled by what it is
    base = ModelSpec()
    points = grid.points_for(base, "3,5,7", None, None)
    rows = sweeps.cost_rows(points, base)
    table = render.sweep_table(rows, sweeps.ratios(rows), "s")
    keys = [str(c.header) for c in table.columns].index("params N / S")
    console = Console(file=io.StringIO(), width=80, color_system=None)
    console.print(render.fit(console, table, keys=keys))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert text.count("┏") == 1 and "kernel 3" in text and "kernel 7" in text
    # two folders of two models each: four columns, the shared context in the title
    summary = model_rows(made_results())
    report = pd.concat([summary.assign(run="runs/a", dataset="synthetic", device="CPU: X"),
                        summary.assign(run="runs/b", dataset="synthetic", device="CPU: X")],
                       ignore_index=True)  # fmt: skip
    console = Console(file=io.StringIO(), width=80, color_system=None)
    console.print(render.fit(console, render.report_table(report),
                             render.report_table(report, True), keys=2))  # fmt: skip
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert text.count("┏") == 1 and "dsbench results, synthetic, CPU: X" in text
    assert any(
        line.count("runs/a") == 2 and line.count("runs/b") == 2 for line in text.splitlines()
    )


@pytest.mark.parametrize("axes", [["kernel_size"], ["kernel_size", "width"],
                                  ["kernel_size", "width", "blocks"], []])  # fmt: skip
def test_sweep_plots_for_one_to_three_axes_and_a_single_point(
    tmp_path: Any, axes: list[str]
) -> None:
    from dsbench.store import plot

    base = ModelSpec()
    kernels = "3,5,7" if "kernel_size" in axes else None
    widths = "0.5,1" if "width" in axes else None
    blocks = ["64x2,128x2,256x2", "64x3,128x3,256x3"] if "blocks" in axes else None
    points = grid.points_for(base, kernels, widths, blocks)
    ratios = sweeps.ratios(sweeps.cost_rows(points, base))
    path = tmp_path / "sweep.png"
    plot.sweep(ratios, grid.swept_of(grid.axes(points)), path)
    assert path.read_bytes()[:4] == b"\x89PNG" and len(ratios) == max(1, len(points))


def test_the_time_left_is_estimated_after_every_model_s_first_epoch() -> None:
    console = Console(file=io.StringIO(), width=120, color_system=None)
    observer = render.RichObserver(console, show_progress=False)
    observer.run_start(("normal", "separable"), epochs=3, repeats=2, done=0)
    for kind in ("normal", "separable"):
        observer.model_start(kind, repeat=0, epochs=3, steps=10)
    row = {"epoch": 1, "loss": 1.0, "accuracy": 0.5, "val_accuracy": 0.5, "train_s": 9.0,
           "val_s": 1.0}  # fmt: skip
    observer.epoch_end("normal", {**row, "epoch_s": 10.0})
    assert "left" not in console.file.getvalue()  # type: ignore[attr-defined]
    observer.epoch_end("separable", {**row, "epoch_s": 4.0})
    # this repeat: 2 x 10 + 2 x 4 = 28 s; the second repeat: 3 x (10 + 4) = 42 s
    assert "about 1.2 min of training left (all models, 2 repeats)" in console.file.getvalue()  # type: ignore[attr-defined]


def test_warnings_print_their_text_literally() -> None:
    # A warning quoting a value with brackets (a device, a path) is text, not Rich markup:
    # `report` printed its warnings unescaped, so "[bold]" vanished and "[/x]" raised.
    out = io.StringIO()
    render.warn(Console(file=out, width=200, color_system=None), ["device ([bold]gpu[/bold])"])
    assert out.getvalue() == "warning: device ([bold]gpu[/bold])\n"


def test_a_range_of_one_value_is_not_printed_as_a_range() -> None:
    row = pd.Series({"ms_per_step": 1691.1, "ms_per_step_low": 1691.1, "ms_per_step_high": 1691.1})
    assert render.comparison.cell(row, "ms_per_step", render.fixed(1), spread=True) == "1,691.1"
    row["ms_per_step_high"] = 1800.0
    assert (
        render.comparison.cell(row, "ms_per_step", render.fixed(1), spread=True)
        == "1,691.1 (1,691.1–1,800.0)"
    )


def test_one_paired_epoch_is_singular() -> None:
    from dsbench.measure import stats

    [warning] = stats.interval_warning("time/step ratio", stats.Interval(0.5, float("nan"),
                                                                        float("nan"), 1))  # fmt: skip
    assert "1 paired epoch:" in warning


def test_a_report_names_the_device_in_a_few_words(made_results: Any, tmp_path: Path) -> None:
    from helpers import write_run

    import dsbench

    environment = {"device": "device: /device:CPU:0 (CPU: AMD EPYC), TensorFlow 2.21.0, 1 "
                   "replica (this TensorFlow supports CUDA but found no GPU; --verbose shows why)",
                   "cpu": {"model": "AMD EPYC"}, "hostname": "box",
                   "data": {"train_images": 320}}  # fmt: skip
    write_run(tmp_path / "a", made_results(), "compare", {"train": {"epochs": 4}}, environment,
              True)  # fmt: skip
    rows = dsbench.report([tmp_path / "a"]).rows
    assert set(rows["device"]) == {"CPU: AMD EPYC"}
    # one folder given as a string or a Path is that folder, not its letters one by one
    for one in (str(tmp_path / "a"), tmp_path / "a"):
        assert dsbench.report(one).rows.equals(rows)
    assert "verbose" not in render.export(dsbench.report([tmp_path / "a"]), "markdown")


def test_a_report_says_a_model_saved_while_it_trained_is_incomplete(
    made_results: Any, tmp_path: Path
) -> None:
    from helpers import write_run

    import dsbench

    # a run that crashed after 2 of its 4 epochs: each model was saved while training
    results = made_results([3.0, 2.0], [1.5, 1.0])
    write_run(tmp_path / "a", results, "compare", {"train": {"epochs": 4}}, {}, False)
    rows = dsbench.report([tmp_path / "a"]).rows.set_index("model")
    assert rows.loc["normal", "status"] == rows.loc["separable", "status"] == "incomplete"
    saved = json.loads((tmp_path / "a" / "summary.json").read_text())  # the folder's own files
    assert [row["status"] for row in saved["models"]] == ["incomplete", "incomplete"]
    assert set(pd.read_csv(tmp_path / "a" / "summary.csv")["status"]) == {"incomplete"}
    assert set(pd.read_csv(tmp_path / "a" / "runs.csv")["status"]) == {"complete"}  # resume's
    for row in saved["models"]:  # as earlier versions wrote them: still shown incomplete
        row["status"] = "complete"
    (tmp_path / "a" / "summary.json").write_text(json.dumps(saved))
    assert set(dsbench.report([tmp_path / "a"]).rows["status"]) == {"incomplete"}
    write_run(tmp_path / "b", made_results(), "compare", {"train": {"epochs": 4}}, {}, True)
    assert set(dsbench.report([tmp_path / "b"]).rows["status"]) == {"complete"}
    write_run(tmp_path / "c", results, "compare", {}, {}, False)  # epochs not recorded
    assert set(dsbench.report([tmp_path / "c"]).rows["status"]) == {"complete"}


def test_a_report_names_each_row_s_network(made_results: Any, tmp_path: Path) -> None:
    from helpers import write_run

    import dsbench

    mine = {"model": {"arch": "net.py:build", "arch_options": {"width": 0.5}}}
    write_run(tmp_path / "vgg", made_results(), "compare", {}, {}, True)
    write_run(tmp_path / "mine", made_results(), "compare", mine, {}, True)
    report = dsbench.report([tmp_path / "vgg", tmp_path / "mine"])
    assert report.rows.groupby("run")["network"].first().to_dict() == {
        str(tmp_path / "vgg"): "VGG 64x2,128x2,256x2",
        str(tmp_path / "mine"): "net.py:build (width=0.5)"}  # fmt: skip
    assert "net.py:build (width=0.5)" in render.export(report, "csv")


def test_a_narrow_bench_table_heads_each_column_with_its_batch_size() -> None:
    from dsbench.measure.bench import BenchSummary

    rows = bench_rows().assign(mode="train", batch_size=[128, 512])
    console = Console(file=io.StringIO(), width=80, color_system=None)
    render.show(console, BenchSummary({}, rows, {}, (), 0.05))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    header = next(line for line in text.splitlines() if "batch 128" in line)
    assert "batch 512" in header  # not "train | train", with the batch sizes a row below


def test_the_bench_caption_counts_outlying_chunks() -> None:
    rows = bench_rows()
    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(render.bench_table(rows, "b"))
    assert "Tukey" not in console.file.getvalue()  # type: ignore[attr-defined]  (older folders)
    rows = rows.assign(normal_outliers=[2, 1], separable_outliers=[0, 0])
    console.print(render.bench_table(rows, "b"))
    text = " ".join(console.file.getvalue().split())  # type: ignore[attr-defined]
    assert "chunks beyond Tukey's fences (1.5 IQR): normal 3 of 18, separable 0 of 18" in text


def test_progress_counts_epochs_as_asked_and_says_what_follows_them() -> None:
    from dsbench.render.progress import RichObserver

    stream = io.StringIO()
    observer = RichObserver(Console(file=stream, width=100, force_terminal=True), True)
    assert observer.progress is not None
    observer.run_start(("normal", "separable"), 2, 1, 0)
    task = observer.progress.tasks[0]
    assert task.total == 2 and "2 models each" in task.description  # --epochs 2: 2, not 4
    for kind in ("normal", "separable"):
        observer.model_start(kind, 0, 2, 3)
    row = {"epoch": 1, "loss": 1.0, "accuracy": 0.5, "val_accuracy": 0.5, "train_s": 1.0,
           "val_s": 0.1, "epoch_s": 1.1}  # fmt: skip
    for kind in ("normal", "separable"):
        observer.epoch_start(kind, 1)
        observer.epoch_end(kind, row)
    assert task.completed == 1
    observer.working("measuring inference speed and model size")
    observer.close()
    assert "measuring inference speed and model size" in stream.getvalue()


def test_a_sweep_row_shows_its_ratios_as_sure_as_compare_does(made_results: Any) -> None:
    from dsbench.measure.summary import summarize
    from dsbench.spec.settings import ModelSpec

    base = ModelSpec()
    frames = []
    for point, separable_s in zip(grid.points_for(base, "3,5", None, None),
                                  ([1.5, 1.0, 1.1, 0.9], [1.5, 1.1]), strict=True):  # fmt: skip
        results = made_results([3.0, 2.0, 2.2, 1.8][: len(separable_s)], separable_s)
        summary = summarize(results, "compare", ("normal", "separable"), {}, {}, True).models
        frames.append(sweeps.trained_rows(point, base, summary))
    rows = pd.concat(frames, ignore_index=True)
    console = Console(file=io.StringIO(), width=250, color_system=None)
    console.print(render.sweep_table(rows, sweeps.ratios(rows), "s"))
    text = " ".join(console.file.getvalue().split())  # type: ignore[attr-defined]
    assert "0.600x [0.580, 0.620]" in text  # three paired steady epochs, around their median
    assert "not resolved (1 pair)" in text and "0.640x" not in text  # one: no bare 1.6/2.5


def test_markdown_shows_counts_whole_and_no_ratio_surer_than_it_is(made_results: Any) -> None:
    from dsbench.store.reports import Report

    four = made_results(separable_s=[1.5, 1.0, 1.15, 0.87])  # 3 steady pairs: resolved
    two = made_results([3.0, 2.0, 2.2], [1.5, 1.0, 1.4])  # 2 steady pairs: not resolved
    rows = pd.concat([model_rows(four).assign(run="runs/four"),
                      model_rows(two).assign(run="runs/t|wo")], ignore_index=True)  # fmt: skip
    text = render.export(Report(rows=rows), "markdown")
    lines = [line for line in text.splitlines() if line.startswith("|")]
    cells = {len(re.split(r"(?<!\\)\|", line)) for line in lines}
    assert len(cells) == 1  # a '|' in a folder's name is escaped, not a cell of its own
    table = [line for line in text.splitlines() if line.startswith("| runs/")]
    assert len(table) == 4 and all("1,186,378" in line for line in table[::2])
    assert all("174,821" in line and "152,805,376" not in line for line in table[1::2])
    assert "e+" not in text and "nan" not in text
    resolved, unresolved = table[1], table[3]
    shown = render.report_table(rows).columns[-1]._cells[1]  # the table's own cell
    assert shown in resolved and f"{rows.iloc[1]['ms_per_step_ratio']:.2f}x [" in shown
    assert "not resolved (2 pairs)" in unresolved
    two_ratio = rows.iloc[3]["ms_per_step_ratio"]
    assert f"{two_ratio:.2f}" not in unresolved and f"{two_ratio:.3f}" not in unresolved


def test_a_report_of_a_bench_and_a_sweep_tells_its_rows_apart(made_results: Any) -> None:
    from dsbench.measure.bench import BenchSummary
    from dsbench.store.reports import Report

    bench = BenchSummary({}, bench_rows(), {}, (), 0.05).report_rows().assign(run="runs/bench")
    summary = model_rows(made_results())
    sweep = pd.concat([summary.assign(point="k3"), summary.assign(point="k5")])
    rows = pd.concat([bench, sweep.assign(run="runs/sweep", batch_size=128)], ignore_index=True)
    table = render.report_table(rows)
    assert [str(c.header) for c in table.columns][:5] == ["run", "point", "mode", "batch", "model"]
    keys = [[str(c) for c in column._cells] for column in table.columns[:5]]
    assert len(set(zip(*keys, strict=True))) == len(rows)  # no two rows look the same
    separable = bench[bench["model"] == "separable"].iloc[0]
    assert render.time_ratio(separable) == "0.36x [0.34, 0.38]"  # bench's ratio has its interval
    assert "0.36x [0.34, 0.38]" in render.export(Report(rows=rows), "markdown")
    console = Console(file=io.StringIO(), width=160, color_system=None)
    render.report(console, Report(rows=rows))
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "k3" in text and "k5" in text and "batch 1" in text and "infer" in text
