"""The answer's conditions: the device line names the CPU features (AMX, AVX512-BF16/FP16,
AVX-512, NEON) and the GPU's compute capability that change which model is faster, and a
float32 run on hardware with fast bfloat16 or float16 says in one line that precision changes
the answer and which sweep shows it."""

from __future__ import annotations

from typing import Any

import pytest

from dsbench.backends import host
from dsbench.measure.summary import precision_note

XEON = ("processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Platinum 8480+\nflags\t\t: fpu sse avx2 "
        "avx512f avx512_bf16 avx512_fp16 amx_bf16 amx_tile amx_int8\n\nprocessor\t: 1\n")  # fmt: skip
EPYC = "processor\t: 0\nflags\t\t: fpu sse avx2 avx512f avx512_bf16\n"
OLD = "processor\t: 0\nflags\t\t: fpu sse avx2 fma\n"
GRAVITON = "processor\t: 0\nFeatures\t: fp asimd evtstrm aes sve bf16 i8mm\n"


@pytest.mark.parametrize(
    ("cpuinfo", "features"),
    [(XEON, ["AMX", "AVX512-BF16", "AVX512-FP16", "AVX-512"]), (EPYC, ["AVX512-BF16", "AVX-512"]),
     (OLD, []), (GRAVITON, ["BF16", "SVE", "NEON"]), ("", [])],
)  # fmt: skip
def test_the_cpu_features_that_change_the_answer_are_named(
    cpuinfo: str, features: list[str]
) -> None:
    assert host.cpu_features(cpuinfo) == features


def test_the_device_line_names_a_gpu_s_compute_capability() -> None:
    assert host.gpu_kind("NVIDIA H200", (9, 0)) == "GPU: NVIDIA H200, compute capability 9.0"
    assert host.gpu_kind("some GPU", None) == "GPU: some GPU"


def _environment(
    cpu_features: list[str], gpus: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {"cpu": {"model": "X", "features": cpu_features}, "gpus": gpus or []}


def test_a_float32_run_says_precision_changes_the_answer_where_it_does() -> None:
    float32 = {"train": {"precision": "float32"}}
    (line,) = precision_note(float32, _environment(["AMX", "AVX512-BF16", "AVX-512"]))
    assert "float32 on a CPU with AMX, AVX512-BF16 (fast bfloat16)" in line
    assert line.endswith("dsbench sweep --precision float32,mixed_bfloat16")
    assert precision_note({}, _environment(["AVX512-BF16"]))  # float32 is the default
    # a run in mixed precision, or a CPU without fast bfloat16: nothing to say
    assert precision_note({"train": {"precision": "mixed_bfloat16"}}, _environment(["AMX"])) == []
    assert precision_note(float32, _environment(["AVX-512", "NEON"])) == []
    # on a GPU the GPU decides: tensor cores from compute capability 7.0
    (gpu,) = precision_note(float32, _environment(["AMX"], [{"compute_capability": [8, 0]}]))
    assert "compute capability 8.0" in gpu and "float32,mixed_float16,mixed_bfloat16" in gpu
    assert precision_note(float32, _environment(["AMX"], [{"compute_capability": [6, 1]}])) == []
    assert precision_note(float32, {"cpu": "tampered", "gpus": "x"}) == []
