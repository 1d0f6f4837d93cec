"""Your own network and its separable twin (`--arch PATH.py:FUNCTION` or
`keras.applications.NAME`).

The builder is code: dsbench imports the file from the given path, as `python PATH.py` would
run it, and calls FUNCTION(input_shape=..., num_classes=...) for an uncompiled keras.Model. The
twin is that model cloned (keras.models.clone_model) with every Conv2D whose kernel is larger
than 1x1 replaced by a SeparableConv2D with the same filters, kernel size, strides, padding,
dilation, activation, bias and regularizers (and dsbench's depthwise initializer rule); 1x1
convolutions, DepthwiseConv2D, Dense and every other layer stay. A Conv2D that cannot be
swapped (grouped, a subclass of Conv2D) is kept and named with the reason. The other
direction is dense_twin.py's; what either costs, costs.py's.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import math
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dsbench.errors import DsbenchError

if TYPE_CHECKING:
    import keras

APPLICATIONS = "keras.applications."
ARCH_HINT = (
    "give --arch PATH.py:FUNCTION (a function returning a keras.Model) or keras.applications.NAME"
)


def check_arch(arch: str) -> None:
    """What can be checked of an --arch string without running it: its form and its file."""
    if arch.startswith((APPLICATIONS, "python:")):
        return
    path_text, _, function = arch.rpartition(":")
    if not path_text or not function or Path(path_text).suffix != ".py":
        raise DsbenchError(f"arch {arch!r} is not PATH.py:FUNCTION", ARCH_HINT, setting="arch")
    if not Path(path_text).is_file():
        raise DsbenchError(f"arch: {path_text} is not a file", ARCH_HINT, setting="arch")


def builder(arch: str | Callable[..., Any]) -> Callable[..., Any]:
    """The function that builds the normal model: a callable as it is; 'PATH.py:FUNCTION' from
    that file (run as code, from that path only); 'keras.applications.NAME' with weights=None."""
    if callable(arch):
        return arch
    if arch.startswith("python:"):  # recorded from a function given in Python
        raise DsbenchError(f"arch {arch!r} was a function given from Python, which a results "
                           "folder cannot hold", "resume it from Python with the function, or "
                           "give its file as PATH.py:FUNCTION", setting="arch")  # fmt: skip
    if arch.startswith(APPLICATIONS):
        name = arch.removeprefix(APPLICATIONS)
        import keras

        application = (
            getattr(keras.applications, name, None)
            if name.isidentifier() and (not name.startswith("_"))
            else None
        )  # a public application's name, nothing else of the module
        if not callable(application):
            raise DsbenchError(f"arch {arch!r}: keras.applications has no {name!r}", ARCH_HINT,
                               setting="arch")  # fmt: skip

        def build_application(input_shape: tuple[int, ...], num_classes: int,
                              **options: Any) -> Any:  # fmt: skip
            return application(
                weights=None, input_shape=tuple(input_shape), classes=num_classes, **options
            )  # e.g. MobileNetV2's alpha

        return build_application
    check_arch(arch)
    path_text, _, function = arch.rpartition(":")
    path = Path(path_text)
    module_name = f"dsbench_arch_{hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:12]}"
    if module_name in sys.modules:  # run once per process, however many models it builds
        return _function(sys.modules[module_name], path, function)
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise DsbenchError(f"arch: cannot load {path} as Python", ARCH_HINT, setting="arch")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # the user's code: any failure is theirs, said in one line
        del sys.modules[module_name]
        raise DsbenchError(f"arch: running {path} failed: {type(err).__name__}: {err}",
                           "--debug shows the traceback in your file", setting="arch") from err  # fmt: skip
    return _function(module, path, function)


def _function(module: Any, path: Path, function: str) -> Callable[..., Any]:
    found = getattr(module, function, None)
    if not callable(found):
        raise DsbenchError(f"arch: {path} has no function {function!r}", ARCH_HINT,
                           setting="arch")  # fmt: skip
    return found


def content_hash(arch: str | Callable[..., Any]) -> str | None:
    """sha256 of the builder file's content (None for keras.applications or a function)."""
    if not isinstance(arch, str):
        return None
    path_text = arch.rpartition(":")[0]
    if arch.startswith(APPLICATIONS) or not path_text or not Path(path_text).is_file():
        return None
    return hashlib.sha256(Path(path_text).read_bytes()).hexdigest()


def check_options(arch: str | Callable[..., Any], options: Mapping[str, Any]) -> None:
    """Refuse keyword arguments (arch_options, a sweep's kernel_size or width axis) that the
    builder has no parameter for."""
    if not options:
        return
    build = builder(arch)
    try:
        parameters = inspect.signature(build).parameters.values()
    except (TypeError, ValueError):  # no signature to read (a builtin): the call will say
        return
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return
    names = {p.name for p in parameters if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)}
    for name in options:
        if name not in names:
            what = getattr(build, "__name__", "the builder")
            raise DsbenchError(f"arch: {what}() has no parameter {name!r} (given {name}="
                               f"{options[name]!r}); its parameters: {', '.join(sorted(names))}",
                               f"add a {name} parameter to {what}(), or leave {name} out",
                               setting="arch")  # fmt: skip


def build_user(arch: str | Callable[..., Any], input_shape: tuple[int, ...], num_classes: int,
               options: Mapping[str, Any] | None = None) -> keras.Model:  # fmt: skip
    """The user's normal model, checked: a keras.Model taking `input_shape`; `options` are
    keyword arguments for the builder besides the input shape and class count."""
    import keras

    build = builder(arch)
    check_options(arch, options or {})
    try:
        model = build(input_shape=tuple(input_shape), num_classes=num_classes, **(options or {}))
    except DsbenchError:
        raise
    except Exception as err:
        application = isinstance(arch, str) and arch.startswith(APPLICATIONS)
        hint = ("check input_shape and arch_options against what the application accepts; "
                "--debug shows the traceback" if application
                else "--debug shows the traceback in your code")  # fmt: skip
        raise DsbenchError(
            f"arch: the builder failed: {type(err).__name__}: {err}",
            hint,
            setting=("arch", "input_shape", "arch_options"),
        ) from err
    if not isinstance(model, keras.Model):
        raise DsbenchError(f"arch: the builder returned {type(model).__name__}, not a keras.Model",
                           ARCH_HINT, setting="arch")  # fmt: skip
    return model


@dataclass
class Twin:
    """The separable twin of a model, and what the swap did."""

    model: Any
    swapped: list[str] = field(default_factory=list)
    kept: list[tuple[str, str]] = field(default_factory=list)  # (layer, why it was not swapped)


def separable_twin(model: keras.Model, depthwise_init: str = "corrected") -> Twin:
    """`model` with every swappable Conv2D larger than 1x1 as a SeparableConv2D (see above)."""
    import keras

    twin = Twin(None)

    def clone(layer: Any) -> Any:
        config = layer.get_config()
        if type(layer) is not keras.layers.Conv2D:
            if isinstance(layer, keras.layers.Conv2D):  # a subclass: its own behaviour
                twin.kept.append((layer.name, f"{type(layer).__name__} is a subclass of Conv2D"))
            return layer.__class__.from_config(config)
        kernel = tuple(config["kernel_size"])
        if kernel == (1, 1):
            return layer.__class__.from_config(config)
        if config.get("groups", 1) != 1:
            twin.kept.append((layer.name, f"grouped convolution (groups={config['groups']})"))
            return layer.__class__.from_config(config)
        options: dict[str, Any] = {}
        if depthwise_init == "corrected":  # as dsbench's own separable model: fan = k*k
            limit = math.sqrt(3.0 / (kernel[0] * kernel[1]))
            options["depthwise_initializer"] = keras.initializers.RandomUniform(-limit, limit)
        twin.swapped.append(layer.name)
        return keras.layers.SeparableConv2D(
            config["filters"], kernel, strides=config["strides"], padding=config["padding"],
            data_format=config.get("data_format"), dilation_rate=config["dilation_rate"],
            activation=config["activation"], use_bias=config["use_bias"],
            pointwise_regularizer=config.get("kernel_regularizer"),
            bias_regularizer=config.get("bias_regularizer"),
            activity_regularizer=config.get("activity_regularizer"),
            name=layer.name, dtype=config.get("dtype"), **options,
        )  # fmt: skip

    try:  # recursive: the layers of a nested functional or Sequential model are swapped too
        twin.model = keras.models.clone_model(model, clone_function=clone, recursive=True)
    except Exception as err:
        raise DsbenchError(f"arch: the separable twin of {model.name!r} could not be built: "
                           f"{type(err).__name__}: {err}",
                           "a subclassed model cannot be cloned: build it with the functional or "
                           "Sequential API", setting="arch") from err  # fmt: skip
    nested = [layer.name for layer in _flat(model) if _holds_conv(layer)]
    twin.kept += [(name, "a Conv2D inside a custom layer") for name in nested]
    return twin


def _holds_conv(layer: Any) -> bool:
    """Whether a layer that is no Conv2D itself has one among its sublayers, at any depth."""
    import keras

    if isinstance(layer, keras.layers.Conv2D):
        return False
    flatten = getattr(layer, "_flatten_layers", None)  # Keras' own walk (private: else one level)
    inner = (list(flatten(include_self=False, recursive=True)) if callable(flatten)
             else [v for v in vars(layer).values() if isinstance(v, keras.layers.Layer)])  # fmt: skip
    return any(isinstance(v, keras.layers.Conv2D) for v in inner)


def _flat(model: Any) -> list[Any]:
    """Every layer, nested models opened up (their layers costed one by one)."""
    import keras

    out: list[Any] = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        out += _flat(layer) if isinstance(layer, keras.Model) else [layer]
    return out
