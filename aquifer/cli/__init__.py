"""The ``aquifer`` command line (typer + rich). Each command group lives in its own module."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="aquifer",
    help="aquifer: declare features once; compute them in batch and stream; serve and train on them correctly.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Command modules register themselves on `app`; each owns one concept's commands.
COMMAND_MODULES = (
    "aquifer.cli.repo_commands",
    "aquifer.cli.batch_commands",
    "aquifer.cli.online_commands",
    "aquifer.cli.training_commands",
    "aquifer.cli.demo_command",
    "aquifer.cli.stream_commands",
    "aquifer.cli.consistency_command",
    "aquifer.cli.quality_commands",
    "aquifer.cli.drift_commands",
)


def _register() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name)


def main() -> None:
    """Console-script entry point."""
    _register()
    app()
