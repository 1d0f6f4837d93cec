"""The shape of the package: no import cycles, no terminal libraries below the CLI, choices
that agree with config, a fast path for --help and summary."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from typing import Any

from dsbench import cli, cli_options, config

PACKAGE = Path(cli.__file__).parent
MODULES = {
    ".".join(("dsbench", *p.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(
        ".__init__"
    ): p
    for p in PACKAGE.rglob("*.py")
}


def imports(path: Path) -> set[str]:
    """dsbench modules a file imports, at any depth (lazy ones too), except for type checking."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    skipped = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
               and "TYPE_CHECKING" in ast.unparse(node.test) for n in ast.walk(node)}  # fmt: skip
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("dsbench")}
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dsbench"):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                found.add(full if full in MODULES else node.module or "")
    return found


# The layers, bottom first: a module imports only from its own layer or the layers below it
# (config -> data -> models -> training -> records -> store / render, as docs/contributing.md
# draws it). A new module must be placed here.
LAYERS = (
    # foundations: errors, the observer hooks, numbers and leaves with no dsbench imports
    ("_version", "errors", "enums", "observer", "tarball", "stats", "stopping", "plot", "probe", "custom_loop",
     "backends.keras3"),
    # what a run is: each setting once, the specs read from a config, the request
    ("settings", "backends", "config", "request"),
    # plain values: the images, the models, what one training run measured
    ("data", "data.*", "models", "arch", "distribute", "records", "speed", "runtime", "_preload"),
    # results: the figures of a comparison, its record, sweeps, checks of files read back
    ("figures", "results", "baseline", "schema", "sweeps", "backends.*"),
    # storage: folders, files, checkpoints
    ("folders", "store", "checkpoints"),
    # execution: training with its callbacks, a comparison in a process, worker processes
    ("callbacks", "training", "experiment", "workers", "checks"),
    # orchestration: requests run, results returned, folders reported
    ("outcome", "reports", "runner"),
    # the Python API
    ("api",),
    # presentation: the terminal
    ("render", "render.*", "cli_options", "cli_help", "cli", "", "__main__"),
)  # fmt: skip


def layer_of(module: str) -> int:
    """The layer of a module (dsbench.render.tables -> the layer of 'render.*')."""
    short = module.removeprefix("dsbench").removeprefix(".")
    for index, names in enumerate(LAYERS):
        for name in names:
            if short == name or (name.endswith(".*") and short.startswith(name[:-1])):
                return index
    raise AssertionError(f"{module} is in no layer of tests/test_architecture.py")


def test_imports_run_down_the_layers_only() -> None:
    upward = [
        f"{name} (layer {layer_of(name)}) imports {dep} (layer {layer_of(dep)})"
        for name, path in MODULES.items()
        for dep in imports(path) & set(MODULES)
        if layer_of(dep) > layer_of(name)
    ]
    assert upward == []


def test_the_package_has_no_import_cycles() -> None:
    graph = {name: imports(path) & set(MODULES) for name, path in MODULES.items()}
    graph["dsbench.__main__"].discard("dsbench")

    def visit(name: str, stack: list[str]) -> None:
        assert name not in stack, " -> ".join([*stack, name])
        for child in graph[name]:
            visit(child, [*stack, name])

    for name in graph:
        visit(name, [])


def test_nothing_below_the_cli_imports_typer_and_only_render_imports_rich() -> None:
    for name, path in MODULES.items():
        source = path.read_text(encoding="utf-8")
        if name not in ("dsbench.cli", "dsbench.cli_options", "dsbench.cli_help"):
            assert "import typer" not in source, name
        if name not in (
            "dsbench.cli",
            "dsbench.cli_options",
            "dsbench.cli_help",
        ) and not name.startswith("dsbench.render"):
            assert "from rich" not in source and "import rich" not in source, name


def test_every_setting_is_declared_once_and_has_its_option() -> None:
    from dsbench import settings

    # the TOML reader, the API's checks and the command line all come from the specs' fields
    assert set(config.SETTINGS) == {name for section in settings.SPECS
                                    for name in settings.fields_of(section)}  # fmt: skip
    assert set(config.SECTIONS["train"][1]) == set(settings.fields_of("train"))
    with_flags = {name for name in config.SETTINGS if settings.describe(name).cli}
    assert with_flags == set(cli_options.TRAINING) == set(config.SETTINGS)  # every one a flag
    for name in with_flags:
        assert name in cli_options.OPTIONS and settings.describe(name).help
        if settings.describe(name).kind == "choice":  # the flag offers exactly the choices
            kind = cli_options.OPTIONS[name].__metadata__  # Annotated[Optional[Enum], Option]
            values = [m.value for m in _enum_of(cli_options.OPTIONS[name])]
            assert tuple(values) == settings.describe(name).choices, (name, kind)


def _enum_of(annotated: Any) -> Any:
    from typing import get_args

    optional = get_args(annotated)[0]
    return next(a for a in get_args(optional) if a is not type(None))


def test_help_and_summary_import_neither_tensorflow_nor_pandas() -> None:
    code = (
        "import sys, tempfile\nfrom typer.testing import CliRunner\nfrom dsbench.cli import app\n"
        "for args in (['--help'], ['--version'], ['compare', '--help'], ['summary', '--json']):\n"
        "    assert CliRunner().invoke(app, args).exit_code == 0\n"
        "print(sorted(m for m in ('tensorflow', 'keras', 'pandas') if m in sys.modules))\n"
        "args = ['sweep', '--kernel-size', '3,5', '--summary-only', '--output-dir', tempfile.mkdtemp(), '--force']\n"
        "assert CliRunner().invoke(app, args).exit_code == 0\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.split() == ["[]", "[]"]  # sweep --summary-only needs no TensorFlow either
