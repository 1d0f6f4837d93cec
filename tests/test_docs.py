"""The docs say what the tool does: docs/usage.md's command table is the CLI's commands (and
the README names each once), and the results-folder table in docs/results-format.md is the
files a run writes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from helpers import write_run

ROOT = Path(__file__).resolve().parent.parent


def _table_cells(text: str, heading: str) -> list[str]:
    """The code spans in the first column of the first Markdown table after `heading`."""
    cells: list[str] = []
    started = False
    for line in text[text.index(heading) :].splitlines():
        if not line.startswith("|"):
            if started:
                break
            continue
        started = True
        first = re.split(r"(?<!\\)\|", line)[1]  # the first column ("\|" stays inside it)
        cells += re.findall(r"`([^`]*)`", first)
    return cells


def test_the_docs_list_every_command_and_only_those() -> None:
    import typer.main

    from dsbench.cli.main import app

    commands = set(typer.main.get_command(app).commands)  # type: ignore[attr-defined]
    usage = (ROOT / "docs" / "usage.md").read_text(encoding="utf-8")
    listed = {cell.split()[1] for cell in _table_cells(usage, "## Commands")}
    assert listed == commands
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Commands") :].split("\n## ")[0]
    assert set(re.findall(r"`(\w+)`", section)) >= commands


def test_the_results_table_lists_the_files_a_run_writes(made_results: Any, tmp_path: Path) -> None:
    environment = {"data": {"test_images": 100}}
    write_run(tmp_path, made_results(), "compare", {"train": {"epochs": 4}}, environment,
              complete=True, draw=True)  # fmt: skip
    from dsbench.cli.main import _page

    _page(tmp_path)  # --html
    written = {path.name for path in tmp_path.iterdir()}
    doc = (ROOT / "docs" / "results-format.md").read_text(encoding="utf-8")
    documented = set(_table_cells(doc, "## Results on disk"))
    assert documented == written


def test_every_row_of_the_comparison_table_is_explained_in_methodology() -> None:
    from dsbench.measure.summary import METRICS

    text = (ROOT / "docs" / "methodology.md").read_text(encoding="utf-8")
    glossary = text[text.index("## The comparison table's rows") : text.index("## How each")]
    missing = [m.column for m in METRICS if m.label and f"`{m.column}`" not in glossary]
    assert missing == []


def test_usage_md_names_every_option_of_every_command() -> None:
    # usage.md says it lists every command and option: each command's section or table row,
    # or the shared lists, names each of its long flags (a --[no-]x flag by --x or --[no-]x)
    import typer.main

    from dsbench.cli.main import app

    text = (ROOT / "docs" / "usage.md").read_text(encoding="utf-8")
    missing = []
    group = typer.main.get_command(app)
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        for param in command.params:
            flags = [o for o in param.opts if o.startswith("--") and o != "--help"]
            if flags and not any(re.search(rf"{re.escape(f)}(?![\w-])", text) or
                                 f"--[no-]{f[2:]}" in text for f in flags):  # fmt: skip
                missing.append(f"{name} {flags[0]}")
    assert missing == []
    assert "`dsbench --version`" in text
