"""Allows `python -m conformance run ...`."""

from conformance.cli import main

main()
