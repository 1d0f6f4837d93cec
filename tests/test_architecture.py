"""The shape of the package: no import cycles, no terminal libraries below the CLI, choices
that agree with config, a fast path for --help and summary."""

from __future__ import annotations

import ast
import functools
import subprocess
import sys
from pathlib import Path
from typing import Any

from dsbench.cli import main as cli
from dsbench.cli import options as cli_options
from dsbench.spec import config

PACKAGE = Path(cli.__file__).parent.parent
MODULES = {
    ".".join(("dsbench", *p.relative_to(PACKAGE).with_suffix("").parts)).removesuffix(
        ".__init__"
    ): p
    for p in PACKAGE.rglob("*.py")
}


@functools.cache
def tree_of(path: Path) -> ast.Module:
    """A module's syntax tree, parsed once for all the tests that walk it."""
    return ast.parse(path.read_text(encoding="utf-8"))


@functools.cache
def imports(path: Path) -> frozenset[str]:
    """dsbench modules a file imports, at any depth (lazy ones too, and by name through
    importlib or a fork server's preload list), except for type checking."""
    tree = tree_of(path)
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
        elif isinstance(node, ast.Constant) and node.value in MODULES and "." in node.value:
            found.add(node.value)  # "dsbench.backends.tensorflow.preload"
        elif isinstance(node, ast.JoinedStr) and node.values:  # f"dsbench.backends.{name}"
            head = node.values[0]
            if isinstance(head, ast.Constant) and str(head.value).startswith("dsbench."):
                found.add(str(head.value).rstrip("."))
    return frozenset(found)


# The layers, bottom first, by package: a module imports only from its own layer or the layers
# below it (spec -> data, models -> backends -> measure -> store -> run -> api -> render, cli,
# as docs/contributing.md draws it). A module belongs to the layer of its package; a module
# left at the top of dsbench/ is placed here by name, and there may be at most 12 of those.
LAYERS = (
    ("_version", "errors", "observer", "spec"),
    ("data", "models"),
    ("backends",),
    ("measure",),
    ("store",),
    ("run",),
    ("api",),
    ("render", "cli", "", "__main__"),
)
FRAMEWORKS = ("tensorflow", "jax", "jaxlib", "torch")


def layer_of(module: str) -> int:
    """The layer of a module: of its package (dsbench.render.tables -> 'render') or its name."""
    parts = module.split(".")[1:]
    head = parts[0] if parts else ""
    for index, names in enumerate(LAYERS):
        if head in names:
            return index
    raise AssertionError(f"{module} is in no layer of tests/test_architecture.py")


def test_the_top_of_the_package_holds_few_modules_and_every_package_says_what_it_holds() -> None:
    top = sorted(p.stem for p in PACKAGE.glob("*.py"))
    assert len(top) <= 12, top
    for package in [p for p in PACKAGE.rglob("__init__.py")]:
        docstring = ast.get_docstring(tree_of(package))
        assert docstring, f"{package.parent.name}/__init__.py says nothing of what it holds"


def test_no_framework_is_imported_outside_backends() -> None:
    outside = []
    for name, path in MODULES.items():
        if name.startswith("dsbench.backends"):
            continue
        for node in ast.walk(tree_of(path)):
            named = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])  # fmt: skip
            outside += [f"{name}: {n}" for n in named if n.split(".")[0] in FRAMEWORKS]
    assert outside == []


def test_the_import_finder_sees_importlib_and_preload_names(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text('import importlib\nimportlib.import_module(f"dsbench.backends.{n}")\n'
                      'PRELOAD = ["dsbench.backends.tensorflow.preload"]\n')  # fmt: skip
    assert imports(source) == {"dsbench.backends", "dsbench.backends.tensorflow.preload"}


def test_imports_run_down_the_layers_only() -> None:
    upward = [
        f"{name} (layer {layer_of(name)}) imports {dep} (layer {layer_of(dep)})"
        for name, path in MODULES.items()
        for dep in imports(path) & set(MODULES)
        if layer_of(dep) > layer_of(name)
    ]
    assert upward == []


def cycle_in(graph: dict[str, set[str]]) -> list[str]:
    """An import cycle of `graph` (module -> modules it imports), or [] when there is none."""
    done: set[str] = set()  # no cycle passes through these

    def visit(name: str, stack: list[str]) -> list[str]:
        if name in stack:
            return [*stack[stack.index(name) :], name]
        if name not in done:
            for child in sorted(graph[name]):
                if found := visit(child, [*stack, name]):
                    return found
            done.add(name)
        return []

    return next((found for name in sorted(graph) if (found := visit(name, []))), [])


def test_the_cycle_finder_finds_one() -> None:
    assert cycle_in({"a": {"b"}, "b": {"c"}, "c": {"b"}, "d": set()}) == ["b", "c", "b"]
    assert cycle_in({"a": {"b", "c"}, "b": {"c"}, "c": set()}) == []


def test_the_package_has_no_import_cycles() -> None:
    graph = {name: set(imports(path) & set(MODULES)) - {name} for name, path in MODULES.items()}
    graph["dsbench.__main__"].discard("dsbench")
    assert cycle_in(graph) == []


def test_nothing_below_the_cli_imports_typer_and_only_render_imports_rich() -> None:
    for name, path in MODULES.items():
        source = path.read_text(encoding="utf-8")
        if not name.startswith("dsbench.cli"):
            assert "import typer" not in source, name
        if not name.startswith(("dsbench.cli", "dsbench.render")):
            assert "from rich" not in source and "import rich" not in source, name


def test_every_setting_is_declared_once_and_has_its_option() -> None:
    from dsbench.spec import settings

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


def test_help_and_summary_import_no_framework_nor_pandas_nor_numpy() -> None:
    code = (
        "import sys, tempfile\nfrom typer.testing import CliRunner\nfrom dsbench.cli.main import app\n"
        "for args in (['--help'], ['--version'], ['compare', '--help'], ['summary', '--json'],\n"
        "             ['summary'], ['summary', '--layers']):\n"
        "    assert CliRunner().invoke(app, args).exit_code == 0\n"
        "print(sorted(m for m in ('tensorflow', 'keras', 'pandas', 'numpy', 'matplotlib')\n"
        "             if m in sys.modules))\n"
        "args = ['sweep', '--kernel-size', '3,5', '--summary-only', '--output-dir', tempfile.mkdtemp(), '--force']\n"
        "assert CliRunner().invoke(app, args).exit_code == 0\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.split() == ["[]", "[]"]  # sweep --summary-only needs no TensorFlow either


def test_no_module_over_350_lines_and_no_function_over_60() -> None:
    long_modules = [f"{name}: {n}" for name, path in MODULES.items()
                    if (n := len(path.read_text(encoding="utf-8").splitlines())) > 350]  # fmt: skip
    long_functions = [
        f"{name}.{node.name}: {node.end_lineno - node.lineno + 1}"
        for name, path in MODULES.items()
        for node in ast.walk(tree_of(path))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and (node.end_lineno or node.lineno) - node.lineno + 1 > 60
    ]
    assert long_modules == [] and long_functions == []


def test_render_s_names_are_what_they_name_whatever_was_imported_first() -> None:
    # render/__init__ loads its names on first use; a submodule named like one of them (a
    # function `models` in models.py) would replace the function once imported
    import importlib
    import pkgutil
    import types

    from dsbench import render

    for module in pkgutil.iter_modules(render.__path__):
        importlib.import_module(f"dsbench.render.{module.name}")
    for name in render.__all__:
        assert not isinstance(getattr(render, name), types.ModuleType), name
