"""What every CLI command shares: the console, the repo option, and turning user mistakes into messages."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from aquifer.config import NoRepoError

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

RepoOption = Annotated[
    Path, typer.Option("--repo", "-r", envvar="AQUIFER_REPO",
                       help="Feature repo folder (holds aquifer.yaml); default: the one holding the current folder.")
]


class CommandFailed(Exception):
    """The command ran and found a failure: print the message, exit 1."""


class UsageProblem(Exception):
    """The command was called wrongly: print the message, exit 2."""


def user_errors() -> tuple[type[BaseException], ...]:
    """Exceptions that mean the user's input was wrong (message shown, no traceback)."""
    from aquifer.config import ConfigError
    from aquifer.definitions import DefinitionError

    return (ConfigError, DefinitionError, FileNotFoundError, KeyError, ValueError)


def no_repo_message(exc: NoRepoError, command: str) -> str:
    """Where we are, why it is no repo, and the commands that make one or point at one."""
    lines = [exc.problem(), "  make a new one:   aquifer init NAME  (creates the folder NAME)",
             f"  or point at one:  aquifer {command} --repo PATH  (or set AQUIFER_REPO=PATH)"]
    lines += [f"  there is one in {p.name}/:  aquifer {command} --repo {_shown(p)}" for p in exc.nearby[:3]]
    return "\n".join(lines)


def _shown(path: Path) -> str:
    """``path`` relative to the current folder when it lies below it."""
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def handled(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command; user mistakes become a red one-line message and an exit code, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except CommandFailed as exc:
            err_console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(1) from None
        except UsageProblem as exc:
            err_console.print(f"[red]usage:[/red] {exc}")
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err_console.print("interrupted")
            raise typer.Exit(130) from None
        except NoRepoError as exc:
            command = fn.__name__.removesuffix("_command").replace("_", "-")  # plan_command -> plan
            err_console.print(f"[red]error:[/red] {no_repo_message(exc, command)}", soft_wrap=True)
            raise typer.Exit(1) from None
        except user_errors() as exc:
            message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            err_console.print(f"[red]error:[/red] {message}")
            raise typer.Exit(1) from None
        except Exception as exc:  # anything else is our bug: say so briefly; AQUIFER_DEBUG=1 shows it
            import os

            if os.environ.get("AQUIFER_DEBUG"):
                raise
            err_console.print(
                f"[red]internal error:[/red] {type(exc).__name__}: {exc} (set AQUIFER_DEBUG=1 for the traceback)"
            )
            sys.exit(1)

    return wrapper
