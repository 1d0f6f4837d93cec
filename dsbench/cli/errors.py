"""Errors as dsbench shows them: one red line on stderr (what was wrong, then what to do) and
exit code 2 for a usage error, Typer's and click's included."""

from __future__ import annotations

import itertools
import sys
from typing import Any

import typer

from dsbench.cli.help import CompactGroupHelp, plain


def error(message: str, hint: str = "") -> None:
    """One red line on stderr: the error, then its hint dimmed; text from files made inert."""
    from rich.console import Console

    from dsbench.render import inert

    text = f"[bold red]error:[/] {inert(message)}" + (f" [dim]({inert(hint)})[/]" if hint else "")
    Console(stderr=True, highlight=False, soft_wrap=True).print(text)


class OneLineErrors(CompactGroupHelp):
    """Usage errors (a bad choice, a number out of range) as one red line and exit code 2."""

    def main(  # type: ignore[override]
        self, args: Any = None, prog_name: Any = None, complete_var: Any = None,
             standalone_mode: bool = True, **kwargs: Any) -> Any:  # fmt: skip
        try:
            code = super().main(args, prog_name, complete_var, False, **kwargs)
        except typer.TyperException as err:  # Typer's usage errors (click's, vendored)
            context: Any = getattr(err, "ctx", None)
            if context is None or type(err).__name__ == "NoArgsIsHelpError":
                err.show()  # type: ignore[attr-defined]
            elif getattr(getattr(err, "param", None), "name", None) == "kernel_size" and any(
                "," in value for value in _values_of("--kernel-size", args)
            ):
                error(err.format_message(), "to compare several kernel sizes, use "
                       "dsbench sweep --kernel-size 3,5")  # fmt: skip
            else:
                error(plain(err.format_message()), f"see: {context.command_path} --help")
            code = getattr(err, "exit_code", 2)
        except typer.Abort:
            code = 1
        code = code if isinstance(code, int) else 0
        if standalone_mode:
            sys.exit(code)
        return code


def _values_of(flag: str, args: Any) -> list[str]:
    """The values given to `flag` on the command line (`--flag V` or `--flag=V`)."""
    words = list(sys.argv[1:] if args is None else args)
    return [after for before, after in itertools.pairwise(words) if before == flag] + [
        word.split("=", 1)[1] for word in words if word.startswith(f"{flag}=")
    ]
