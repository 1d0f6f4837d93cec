"""`python -m dsbench` runs the command-line interface."""

from dsbench.cli.main import main

if __name__ == "__main__":
    main()
