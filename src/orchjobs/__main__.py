"""`python -m orchjobs` runs the command-line interface."""

from orchjobs.cli import main

main()
