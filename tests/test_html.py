"""`report --format html` and `--html`: one self-contained page per report — the verdict, the
tables, the figures drawn with their intervals, the curves, the warnings, where it ran and
the command — with nothing fetched from a network, its data embedded, and every text from a
folder escaped. The browser test opens it in headless Chromium at a phone's and a desktop's
width."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from helpers import bench_rows, write_run

import dsbench
from dsbench import render
from dsbench.measure.bench import BenchSummary
from dsbench.store.files import ResultsFolder

SETTINGS = {"train": {"epochs": 4, "batch_size": 32}, "data": {"dataset": "synthetic"}}
ENVIRONMENT = {"device": "device: /CPU:0", "hostname": "box", "cpu": {"model": "X"},
               "data": {"train_images": 320, "test_images": 64, "source": "synthetic(seed=0)"},
               "command_line": ["dsbench", "compare", "--epochs", "4"],
               "versions": {"dsbench": "0.1.0"}}  # fmt: skip
VOID = {"meta", "br", "hr", "img", "input", "link", "path", "use", "rect", "circle", "line",
        "polyline", "polygon", "stop", "ellipse"}  # fmt: skip


class Page(HTMLParser):
    """The page parsed: its tags (checked to nest), texts, attributes and the data block."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.data = ""
        self.feed(text)
        self.close()
        assert self.stack == [], f"unclosed: {self.stack}"

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        if self.stack[-1:] == ["script"]:
            self.data += data
        else:
            self.text.append(data)

    def count(self, tag: str) -> int:
        return sum(1 for name, _ in self.tags if name == tag)


def _run(root: Path, name: str, scale: float = 1.0, made: Any = None) -> Path:
    (root / name).mkdir()
    results = made(normal_s=[t * scale for t in (3.0, 2.0, 2.2, 1.8, 2.1, 1.9)],
                   separable_s=[t * scale for t in (1.5, 1.0, 1.1, 0.9, 1.0, 0.95)])  # fmt: skip
    write_run(root / name, results, "compare", SETTINGS, ENVIRONMENT, complete=True)
    return root / name


def _no_web(text: str, page: Page) -> None:
    """Nothing the page names is fetched: no http(s) at all, no src/href, no <link>/<img>."""
    assert not re.search(r"https?:", text, re.IGNORECASE)
    assert page.count("link") == page.count("img") == page.count("iframe") == 0
    for tag, attrs in page.tags:
        assert "src" not in attrs, tag
        assert not (attrs.get("href") or "").strip() or tag == "a", tag
        assert not (attrs.get("xlink:href") or "#").startswith(("http", "//")), tag
    scripts = [attrs for tag, attrs in page.tags if tag == "script"]
    assert scripts == [{"type": "application/json", "id": "dsbench-data"}]  # data, never code


def test_a_comparison_s_page_holds_both_models_the_plots_and_its_data(
    tmp_path: Path, made_results: Any
) -> None:
    folder = _run(tmp_path, "cmp", made=made_results)
    text = dsbench.html(str(folder))  # the API's page: one path, as report --format html makes it
    page = Page(text)
    _no_web(text, page)
    words = " ".join(page.text)
    assert "separable vs normal:" in words  # the verdict
    for figure in ("parameters", "1,186,378", "174,821", "best val acc"):
        assert figure in words
    assert "dsbench compare --epochs 4" in words and "box" in words  # command, host
    # time per step, accuracy (bars with whiskers), ratios, accuracy difference, curves
    assert page.count("svg") == 5
    for title in (
        "Time per step",
        "Accuracy",
        "Ratios, 95% intervals",
        "Accuracy difference, 95% intervals",
        "Validation accuracy vs training time",
    ):
        assert title in text  # fmt: skip
    data = json.loads(page.data)
    assert [row["model"] for row in data["rows"]] == ["normal", "separable"]
    assert data["folders"][0]["environment"]["hostname"] == "box"
    assert data["rows"][0]["params"] == 1_186_378
    # the same run against a slower copy of itself: each figure old and new, each change drawn
    old = _run(tmp_path, "old", 2.0, made_results)
    baseline = dsbench.html(dsbench.against(folder, old))
    page = Page(baseline)
    _no_web(baseline, page)
    assert f"{folder} against {old}" in " ".join(page.text)
    assert "Changes, 95% intervals" in baseline and "faster" in " ".join(page.text)


def _every_kind(root: Path, made_results: Any) -> tuple[Path, Path]:
    """Two runs (new, and old at twice its times), a sweep of kernel 3 and 5, and a bench."""
    from dsbench.measure import summary as summaries
    from dsbench.measure import sweep as sweeps
    from dsbench.spec import grid
    from dsbench.spec.settings import ModelSpec, RunSpec

    new, old = _run(root, "new", 1.0, made_results), _run(root, "old", 2.0, made_results)
    base = ModelSpec()
    points = grid.points_for(base, "3,5", None, None)
    rows = pd.concat([sweeps.trained_rows(p, base, summaries.model_rows(made_results()))
                      for p in points], ignore_index=True)  # fmt: skip
    ResultsFolder(root / "sweep", existing=True).write_sweep(
        sweeps.sweep_summary(RunSpec(model=base), points, rows, True))  # fmt: skip
    ResultsFolder(root / "bench", existing=True).write_bench(
        BenchSummary(SETTINGS, bench_rows(), ENVIRONMENT, (), 0.05))  # fmt: skip
    return new, old


@pytest.mark.slow
def test_a_sweep_a_bench_and_many_folders_each_make_a_page(
    tmp_path: Path, made_results: Any
) -> None:
    _every_kind(tmp_path, made_results)
    sweep_page = dsbench.html(tmp_path / "sweep")
    assert "ratio vs kernel_size" in sweep_page and Page(sweep_page).count("svg") >= 3
    everything = dsbench.html([tmp_path])
    page = Page(everything)
    _no_web(everything, page)
    assert "All folders" in everything and page.count("section") == 5  # overview + 4 folders
    assert "train, batch 128: train time/step" in everything  # the bench's ratio, drawn


def test_text_from_a_folder_is_escaped_and_the_data_block_cannot_end_early(
    tmp_path: Path, made_results: Any
) -> None:
    hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    folder = tmp_path / "run<b>"
    folder.mkdir()
    environment = {**ENVIRONMENT, "hostname": hostile, "command_line": ["dsbench", hostile]}
    write_run(folder, made_results(), "compare", SETTINGS, environment, complete=True)
    text = render.export(dsbench.report(folder), "html")
    page = Page(text)
    assert "<script>alert" not in text and "<img" not in text and "<b>" not in text
    assert hostile in " ".join(page.text)  # shown as text
    assert json.loads(page.data)["folders"][0]["environment"]["hostname"] == hostile
    _no_web(text, page)


@pytest.mark.slow  # two pages made through the CLI
def test_report_writes_the_page_or_prints_it(
    tmp_path: Path, made_results: Any, invoke: Any
) -> None:
    folder = _run(tmp_path, "cmp", made=made_results)
    result = invoke(["report", str(folder), "--format", "html", "-o", str(tmp_path / "p.html")])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "p.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    printed = invoke(["report", str(folder), "--format", "html"])
    assert printed.exit_code == 0 and printed.output.startswith("<!DOCTYPE html>")
    # one folder, one page: the same bytes however it is asked for (chart ids included)
    assert printed.output == (tmp_path / "p.html").read_text(encoding="utf-8")


def test_report_refuses_two_formats(tmp_path: Path, made_results: Any, invoke: Any) -> None:
    folder = _run(tmp_path, "cmp", made=made_results)
    both = invoke(["report", str(folder), "--format", "html", "--json"])
    assert both.exit_code == 2 and "--json and --format html ask for two formats" in both.output


def _browser() -> Any:
    """Headless Chromium through Selenium and the system's chromedriver, or a skip saying what
    is missing."""
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver_path = shutil.which("chromedriver")
    if not binary or not driver_path:
        pytest.skip("no Chromium and chromedriver here (apt-get install chromium "
                    "chromium-driver; .ci/run installs them)")  # fmt: skip
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path=driver_path)
    return webdriver.Chrome(options=options, service=service)


LAYOUT = """
const width = document.documentElement.clientWidth;
const charts = [...document.querySelectorAll('svg.chart')].map(s => s.getBoundingClientRect());
const tables = [...document.querySelectorAll('table')].map(t => t.getBoundingClientRect());
return {width: width, scroll: document.documentElement.scrollWidth,
        charts: charts.map(r => [r.width, r.height]), tables: tables.map(r => r.right)};
"""


@pytest.mark.slow
def test_the_page_opens_in_a_browser_at_a_phone_s_and_a_desktop_s_width(
    tmp_path: Path, made_results: Any
) -> None:
    new, old = _every_kind(tmp_path, made_results)
    pages = {"compare": dsbench.report(new), "sweep": dsbench.report(tmp_path / "sweep"),
             "many": dsbench.report([tmp_path]), "baseline": dsbench.against(new, old)}  # fmt: skip
    driver = _browser()
    try:
        for name, found in pages.items():
            path = tmp_path / f"{name}.html"
            path.write_text(render.export(found, "html"), encoding="utf-8")
            for width in (390, 1280):
                driver.set_window_size(width, 900)
                driver.get(path.as_uri())
                layout = driver.execute_script(LAYOUT)
                errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
                assert errors == [], (name, width, errors)
                assert layout["charts"] and all(w > 0 and h > 0 for w, h in layout["charts"])
                assert layout["scroll"] <= layout["width"], (name, width, layout)
                assert all(right <= layout["width"] + 0.5 for right in layout["tables"]), (
                    name, width, layout)  # fmt: skip
    finally:
        driver.quit()


def test_a_ratio_chart_says_log_scale_only_when_it_draws_one() -> None:
    from dsbench.render import charts

    wide = charts.forest([charts.Item("a", 0.1, 0.05, 0.2), charts.Item("b", 2.0)], "ratio", "t",
                         1.0, log=True)  # fmt: skip
    narrow = charts.forest([charts.Item("a", 0.9, 0.8, 1.1)], "ratio", "t", 1.0, log=True)
    assert "ratio (log scale)" in wide and "(log scale)" not in narrow
    # an interval that does not hold its value, or a value that is not finite, is not drawn
    assert charts.item("x", 1.0, 2.0, 3.0) == charts.Item("x", 1.0)
    assert charts.item("x", float("nan")) is None and charts.item("x", "text") is None
