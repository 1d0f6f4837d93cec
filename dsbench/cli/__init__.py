"""The `dsbench` command line: the Typer app (main), its options generated from the settings
(options) and each command's --help layout (help). The only package that imports Typer."""
