"""The web UI's pages over HTTP against a real registry (SQLite; one test on PostgreSQL) and real Redis.

Oracles: the repo's definition objects as loaded from the checkout (filtered here, independently of the pages),
numpy over the rows written (histograms), pandas (validation counts), hand-derived lineage, and the bytes on disk
(static files). Pages are read as a tree (``ui_support.dom``), so escaped text is compared as a browser shows it.
"""

from __future__ import annotations

import html
import re
import socket
import uuid
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest
from fastapi.testclient import TestClient
from ui_support import XSS, build, dom, free_port, make_app, write_repo

from aquifer.sdk.store import FeatureStore

pytestmark = pytest.mark.redis

STATIC = Path(__file__).parents[3] / "aquifer" / "ui" / "static"


@pytest.fixture(scope="module")
def client(built):
    with TestClient(make_app(built.store)) as c:
        yield c


def page(client: TestClient, path: str, status: int = 200, **params):
    response = client.get(path, params=params or None)
    assert response.status_code == status, (path, response.status_code, response.text[:500])
    assert response.headers["content-type"].startswith("text/html")
    return dom(response.text)


def view_names(tree) -> list[str]:
    """The view pages linked from result cards."""
    return [unquote(a.attrs["href"].rsplit("/", 1)[1]) for card in tree.all("li", class_="card")
            for a in card.all("a") if a.attrs["href"].startswith("/ui/views/")]


# ---- home and search ---------------------------------------------------------------------------------------------


def test_home_groups_every_view_by_owner_and_by_tag(built, client):
    views = built.store.views.values()
    tree = page(client, "/ui/")

    def groups(section_id: str) -> dict[str, list[str]]:
        section = next(s for s in tree.all("section") if s.attrs.get("aria-labelledby") == section_id)
        out: dict[str, list[str]] = {}
        heading = None
        for child in section.children:
            if isinstance(child, str):
                continue
            if child.tag == "h3":
                heading = child.all("a")[0].text() if child.all("a") else child.text().rsplit(" ", 1)[0]
                out[heading] = []
            elif child.tag == "ul":
                out[heading] += [a.text() for a in child.all("a")]
        return out

    by_owner: dict[str, list[str]] = {}
    by_tag: dict[str, list[str]] = {}
    for v in sorted(views, key=lambda v: v.name):
        by_owner.setdefault(v.owner or "no owner", []).append(v.name)
        for key, value in v.tags.items():
            by_tag.setdefault(f"{key}:{value}", []).append(v.name)
    assert groups("by-owner") == by_owner
    assert groups("by-tag") == by_tag
    counts = tree.one("p", class_="counts").text()
    assert counts == "2 entities · 3 sources · 1 feature service"


def oracle(store: FeatureStore, q: str = "", tag: str | None = None, owner: str | None = None) -> list[str]:
    """Names of the checkout's views matching, filtered here from the definition objects themselves."""
    out = []
    for v in store.views.values():
        text = " ".join([v.name, v.description or ""] + [x for f in v.features for x in (f.name, f.description or "")])
        if any(w not in text.casefold() for w in q.casefold().split()):
            continue
        if tag is not None:
            key, _, value = tag.partition(":")
            if key not in v.tags or (":" in tag and v.tags[key] != value):
                continue
        if owner is not None and (v.owner or "").casefold() != owner.casefold():
            continue
        out.append(v.name)
    return sorted(out)


@pytest.mark.parametrize("params", [
    {"q": "amount"}, {"q": "SPEND"}, {"q": "usd amount"}, {"tag": "domain:payments"}, {"tag": "tier"},
    {"owner": "RISK@acme.example"}, {"q": "spend", "tag": "domain:payments", "owner": "risk@acme.example"},
    {"q": "'; DROP TABLE aq_runs; --"}, {"q": "%_*"}, {"q": "nothing-matches-this"},
])
def test_search_results_match_an_independent_filter(built, client, params):
    tree = page(client, "/ui/", **params)
    expected = oracle(built.store, **params)
    assert view_names(tree) == expected
    found = f"{len(expected)} {'view' if len(expected) == 1 else 'views'} found"
    assert tree.one("h2", id="results-title").text() == found
    for name, value in params.items():  # the form keeps what was searched
        assert tree.one("input", id=name).attrs["value"] == value


# ---- a view ----------------------------------------------------------------------------------------------------


def test_view_page_shows_the_definition(built, client):
    v = built.store.views["user_spend"]
    tree = page(client, "/ui/views/user_spend")
    assert tree.one("h1").text() == "user_spend feature view"
    assert tree.one("p", class_="lead").text() == v.description
    facts = tree.one("dl", class_="facts")
    terms = [dt.text() for dt in facts.all("dt")]
    values = dict(zip(terms, [dd.text() for dd in facts.all("dd")], strict=True))
    assert values["Owner"] == v.owner and values["Entities"] == "user (user_id)"
    assert values["Tags"] == " ".join(f"{k}: {val}" for k, val in sorted(v.tags.items()))
    assert values["Source"] == "transactions batch source" and values["TTL"] == "30 d"
    assert values["Freshness SLA"] == "2 h"
    rows = tree.all("table")[0].all("tr")[1:]
    assert [r.all("th")[0].text() for r in rows] == [f.name for f in v.features]
    assert [r.all("td")[0].text() for r in rows] == [f.dtype.name for f in v.features]
    assert [r.all("td")[2].text() for r in rows] == [f.description or "" for f in v.features]
    assert rows[0].all("td")[3].text() == "in_range min=0 mostly=1"
    # the source, highlighted, reads as the SQL text; keywords are marked
    code = tree.one("pre", class_="code")
    assert code.text() == " ".join(v.transform.text.split())
    assert "SELECT" in [s.text() for s in code.all("span", class_="k")]
    shape = page(client, "/ui/views/user_spend_shape").one("pre", class_="code")
    assert "def user_spend_shape(user_spend):" in shape.text()
    assert "def" in [s.text() for s in shape.all("span", class_="k")]


def test_view_page_shows_what_was_observed(built, client):
    latest, rows = built.latest, built.rows
    tree = page(client, "/ui/views/user_spend")
    # freshness: values of 2024 against a 2-hour SLA
    badge = tree.one("p", id="freshness")
    assert "fresh-stale" in badge.attrs["class"] and badge.text().startswith("Stale · newest value")
    # the histogram of what was pushed (each user's latest row) is numpy's, bin for bin
    figure = tree.one("figure", id="stat-amount")
    bars = figure.one("svg").all("rect", class_="bar")
    expected, _ = np.histogram(latest["amount"], bins=20, range=(latest["amount"].min(), latest["amount"].max()))
    assert [int(b.one("title").text().rsplit(": ", 1)[1].replace(",", "")) for b in bars] == expected.tolist()
    heights = np.array([float(b.attrs["height"]) for b in bars])
    tall = expected * heights.max() / expected.max()
    assert np.allclose(heights[tall >= 1.5], tall[tall >= 1.5]) and (heights[expected == 0] == 0).all()
    numbers = figure.one("dl", class_="numbers")
    stats = dict(zip([d.text() for d in numbers.all("dt")], [d.text() for d in numbers.all("dd")], strict=True))
    assert stats["rows"] == f"{len(latest):,}" and stats["nulls"] == "0.0%"
    assert float(stats["mean"]) == pytest.approx(latest["amount"].mean(), rel=1e-3)
    # strings: the most frequent values with their counts
    country = tree.one("figure", id="stat-country").one("svg")
    labels = [t.one("title").text() for t in country.all("text") if t.all("title")]
    counts = [int(t.text().split(" ")[0].replace(",", "")) for t in country.all("text")
              if re.fullmatch(r"[\d,]+ [\d.]+%", t.text())]
    assert dict(zip(labels, counts, strict=True)) == latest["country"].value_counts().to_dict()
    # validation over the offline rows: negative amounts fail InRange(min=0)
    assert tree.one("span", id="validation-status").text() == "Failed"
    failed = {r.all("th")[0].all("code")[0].text(): r.all("td")[0].text()
              for t in tree.all("table") if t.all("caption") and t.one("caption").text() == "Failed expectations"
              for r in t.all("tr")[1:]}
    assert failed["amount.in_range"] == f"{int((rows['amount'] < 0).sum()):,}"
    # drift and runs
    drift = next(t for t in tree.all("table") if "drift" in t.one("caption").text())
    (row,) = drift.all("tr")[1:]
    assert row.all("td")[0].text() == "drifted psi 0.31 > 0.2" and row.all("td")[1].text() == "0.31"
    (run,) = built.store.registry.runs(built.store.config.project, view="user_spend")
    runs = next(t for t in tree.all("table") if "last runs" in t.one("caption").text())
    (cells,) = [r for r in runs.all("tr")[1:]]
    assert cells.one("th").text() == f"#{run.id}"
    assert [c.text() for c in cells.all("td")[:2]] == ["materialize", "2024-02-01 \N{EN DASH} 2024-03-02"]
    assert cells.all("td")[3].text() == f"{run.rows_out:,}" == f"{len(latest):,}"


def test_view_page_draws_its_lineage_one_hop_around(client):
    svg = page(client, "/ui/views/user_spend").one("svg", class_="lineage")
    nodes = {(a.attrs["data-kind"], a.attrs["data-name"]): a.attrs["href"] for a in svg.all("a", class_="node")}
    assert nodes == {
        ("feature_view", "user_spend"): "/ui/views/user_spend",
        ("batch_source", "transactions"): "/ui/sources/transactions",
        ("entity", "user"): "/ui/entities/user", ("feature_view", "user_spend_shape"): "/ui/views/user_spend_shape",
        ("feature_service", "fraud_model_v1"): "/ui/services/fraud_model_v1",
    }
    # every edge between those five: what feeds and keys user_spend, what uses it, and their own links
    assert {p.one("title").text() for p in svg.all("path", class_="edge")} == {
        "transactions → user_spend", "user → user_spend", "user → user_spend_shape", "user_spend → user_spend_shape",
        "user_spend → fraud_model_v1", "user_spend_shape → fraud_model_v1"}
    assert not svg.all("path", class_="column-edge")


# ---- lineage ---------------------------------------------------------------------------------------------------


def test_lineage_page_with_columns_on_demand(client):
    plain = page(client, "/ui/lineage/transactions", depth=1, direction="down").one("svg", class_="lineage")
    assert {a.attrs["data-name"] for a in plain.all("a", class_="node")} == {
        "transactions", "user_spend", "transaction_events"}
    assert not plain.all("path", class_="column-edge")
    tree = page(client, "/ui/lineage/user_spend", depth=1, direction="up", columns=1)
    svg = tree.one("svg", class_="lineage")
    titles = {p.one("title").text() for p in svg.all("path", class_="column-edge")}
    # from the SQL: SELECT user_id, event_ts, amount, amount > 1000 AS is_large, country FROM {transactions}
    assert titles == {f"transactions.{a} → user_spend.{b}" for a, b in [
        ("user_id", "user_id"), ("event_ts", "event_ts"), ("amount", "amount"), ("amount", "is_large"),
        ("country", "country")]}
    # the columns are listed inside their node's box
    spend = next(a for a in svg.all("a", class_="node") if a.attrs["data-name"] == "user_spend")
    assert {t.text() for t in spend.all("text", class_="node-column")} == {
        "user_id", "event_ts", "amount", "is_large", "country"}
    assert tree.one("input", id="columns").attrs.get("checked") is not None
    assert len(tree.one("table", id="column-edges").all("tr")) == 1 + 5


def test_graphs_past_the_drawing_limit_are_listed(client, monkeypatch):
    import aquifer.ui.pages

    monkeypatch.setattr(aquifer.ui.pages, "MAX_DRAWN", 3)  # the limit is 300 nodes; this graph has 5
    tree = page(client, "/ui/lineage/user_spend", depth=1)
    assert not tree.all("svg", class_="lineage")
    assert "5 definitions are more than the 3 drawn" in tree.one("figure", class_="graph").text()
    listed = {a.text() for ul in tree.all("ul", class_="refs") for a in ul.all("a") if a.text() != "lineage"}
    assert listed == {"user_spend", "transactions", "user", "user_spend_shape", "fraud_model_v1"}
    assert not page(client, "/ui/views/user_spend").all("svg", class_="lineage")


def test_every_other_page(built, client):
    from aquifer import BatchSource, Entity, KafkaSource

    store = built.store
    entities = sorted(d.name for d in store.repo.by_kind(Entity))
    sources = sorted(d.name for d in store.repo.by_kind(BatchSource, KafkaSource))
    for name in entities:
        tree = page(client, f"/ui/entities/{name}")
        assert tree.one("h1").text() == f"{name} entity"
        keyed = {a.text() for a in tree.one("ul", class_="refs").all("a")}
        assert keyed == {v.name for v in store.views.values() if any(x.name == name for x in v.entities)}
    for name in sources:
        assert page(client, f"/ui/sources/{name}").one("h1").text().startswith(name)
    svc = page(client, "/ui/services/fraud_model_v1")
    rows = svc.all("table")[0].all("tr")[1:]
    assert [(r.one("th").text(), r.one("td").text()) for r in rows] == [
        (p.name, " ".join(p.features) or "every feature") for p in store.services["fraud_model_v1"].features]
    listed = {w: [h.text().split(" ")[0] for h in page(client, f"/ui/{w}").all("h2", class_="h3")]
              for w in ("entities", "sources", "services")}
    assert listed == {"entities": entities, "sources": sources, "services": sorted(store.services)}


# ---- what users write is text ------------------------------------------------------------------------------------


def test_html_in_definitions_and_search_is_shown_as_text(built, client):
    for path, params in [("/ui/views/hostile_view", {}), ("/ui/", {}), ("/ui/", {"q": XSS}),
                         ("/ui/", {"owner": XSS}), ("/ui/lineage/hostile_view", {"columns": 1}), ("/ui/sources", {})]:
        response = client.get(path, params=params)
        assert response.status_code == 200
        assert "<script>window.__xss" not in response.text and "<img src=x" not in response.text
        assert "default-src 'none'" in response.headers["content-security-policy"]
    tree = page(client, "/ui/views/hostile_view")
    assert tree.one("p", class_="lead").text() == " ".join(XSS.split())
    assert not tree.all("script", src=None) and len(tree.all("script")) == 1  # only the UI's own file
    assert not tree.all("img")
    owner_found = page(client, "/ui/", owner=XSS)
    assert view_names(owner_found) == ["hostile_view"]


# ---- bad input -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("path", "message"), [
    ("/ui/views/usr_spend", "unknown feature view 'usr_spend'; did you mean 'user_spend'"),
    ("/ui/views/user", "unknown feature view 'user'"),
    ("/ui/entities/usr", "unknown entity 'usr'; did you mean 'user'?"),
    ("/ui/sources/transaction", "unknown source 'transaction'; did you mean 'transactions'"),
    ("/ui/services/fraud_model", "unknown feature service 'fraud_model'; did you mean 'fraud_model_v1'?"),
    ("/ui/lineage/nothing_here", "unknown lineage node 'nothing_here'"),
    ("/ui/nothing/here", "no page '/ui/nothing/here'"),
    ("/ui/static/missing.css", "no static file 'missing.css'"),
])
def test_unknown_names_are_404_pages_naming_them(client, path, message):
    tree = page(client, path, status=404)
    assert tree.one("h1").text() == "Not found (404)"
    assert message in tree.one("p", class_="error-detail").text()


@pytest.mark.parametrize(("path", "params", "message"), [
    ("/ui/lineage/user_spend", {"depth": "x"}, "'depth' must be a whole number"),
    ("/ui/lineage/user_spend", {"depth": "99"}, "'depth' must be between 0 and 20"),
    ("/ui/lineage/user_spend", {"direction": "sideways"}, "'direction' must be up, down or both"),
    ("/ui/lineage/user_spend", {"columns": "maybe"}, "'columns' must be 1 or 0"),
    ("/ui/lineage/user_spend", {"kind": "a;b"}, "'kind' must be a definition kind"),
    ("/ui/", {"q": "x" * 501}, "'q' is longer than 500"),
    ("/ui/", {"q": "spend", "page": "0"}, "'page' must be between"),
])
def test_bad_query_parameters_are_422_pages(client, path, params, message):
    tree = page(client, path, status=422, **params)
    assert message in tree.one("p", class_="error-detail").text()


def raw_get(base: str, target: str) -> tuple[int, bytes]:
    """GET ``target`` exactly as written (no client normalisation of ``..`` or percent-escapes)."""
    host, port = urlsplit(base).hostname, urlsplit(base).port
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


@pytest.mark.parametrize("target", [
    "/ui/static/../../etc/passwd", "/ui/static/../../../../../../etc/passwd", "/ui/static/%2e%2e/%2e%2e/etc/passwd",
    "/ui/static/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/ui/static/..%2f..%2f..%2fetc%2fpasswd",
    "/ui/static/%252e%252e%252fetc%252fpasswd", "/ui/static/ui.css/../../../../etc/passwd",
    "/ui/static/..\\..\\..\\etc\\passwd", "/ui/static/....//....//etc/passwd", "/ui/static/%2e%2e/mount.py",
    "/ui/static/../mount.py", "/ui/static/..%2fmount.py", "/ui/static/.", "/ui/static/", "/ui/static/%00ui.css",
])
def test_path_traversal_on_static_routes_fails(server, target):
    status, body = raw_get(server, target)
    assert status in (400, 404), (target, status)
    assert b"root:" not in body and b"def mount" not in body and b"--fg:" not in body


def test_static_files_are_the_files_on_disk(server):
    for path in STATIC.iterdir():
        status, body = raw_get(server, f"/ui/static/{path.name}")
        assert status == 200 and body == path.read_bytes()


def test_freshness_is_unavailable_when_redis_is_down(built, tmp_path):
    """Same registry, an online store on a closed port: the page still renders, saying so."""
    root = write_repo(tmp_path / "repo", f"redis://127.0.0.1:{free_port()}/0", registry=built.store.config.registry_url)
    store = FeatureStore(root)
    try:
        with TestClient(make_app(store)) as c:
            tree = page(c, "/ui/views/user_spend")
    finally:
        store.close()
    badge = tree.one("p", id="freshness")
    assert "fresh-unavailable" in badge.attrs["class"] and "online store not answering" in badge.text()
    assert tree.one("figure", id="stat-amount").all("svg")  # the registry's part is all there


def test_an_unreachable_registry_is_a_503_page(tmp_path, ui_redis_url):
    registry = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nothing?connect_timeout=2"
    store = FeatureStore(write_repo(tmp_path / "repo", ui_redis_url, registry=registry))
    try:
        with TestClient(make_app(store)) as c:
            tree = page(c, "/ui/", status=503)
            view = page(c, "/ui/views/user_spend", status=503)
    finally:
        store.close()
    assert tree.one("h1").text() == "Registry unavailable (503)"
    assert "the registry did not answer (OperationalError)" in view.one("p", class_="error-detail").text()
    assert "127.0.0.1" not in html.unescape(str(view.text()))


def test_pages_need_a_key_when_reads_do(tmp_path, ui_redis_url):
    from aquifer.api.auth import hash_api_key

    api = f"{{require_key_for_reads: true, api_keys: ['{hash_api_key('ui-s3cret')}']}}"
    store = FeatureStore(write_repo(tmp_path / "repo", ui_redis_url, api=api))
    try:
        with TestClient(make_app(store)) as c:
            missing = page(c, "/ui/views/user_spend", status=401)
            wrong = c.get("/ui/", headers={"X-API-Key": "nope"})
            allowed = c.get("/ui/", headers={"X-API-Key": "ui-s3cret"})
            css = c.get("/ui/static/ui.css")
    finally:
        store.close()
    assert "missing API key" in missing.one("p", class_="error-detail").text()
    assert wrong.status_code == 403 and allowed.status_code == 200 and css.status_code == 200
    assert "Nothing is registered yet" in dom(allowed.text).one("main").text()  # never applied


def test_aquifer_serve_serves_the_ui(built):
    import subprocess
    import sys
    import time
    import urllib.request

    port = free_port()
    cli = Path(sys.executable).with_name("aquifer")
    proc = subprocess.Popen([str(cli), "serve", "--port", str(port), "-r", str(built.store.config.root)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, body = time.monotonic() + 60, None
        while body is None and time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/ui/views/user_spend", timeout=5) as r:
                    body = r.read().decode()
            except OSError:
                time.sleep(0.1)
        assert body is not None, proc.stdout.read() if proc.poll() is not None else "no answer"
    finally:
        proc.terminate()
        out = proc.communicate(timeout=30)[0]
    assert dom(body).one("h1").text() == "user_spend feature view"
    assert f"web UI: http://127.0.0.1:{port}/ui/" in " ".join(out.split())


def test_the_ui_stays_out_of_openapi_and_root_goes_to_it(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/ui")]
    response = client.get("/", follow_redirects=False)
    assert response.status_code == 307 and response.headers["location"] == "/ui/"


@pytest.mark.postgres
def test_pages_on_a_postgresql_registry(tmp_path, postgres_url, ui_redis_url):
    import sqlalchemy

    schema = f"ui_{uuid.uuid4().hex[:12]}"
    engine = sqlalchemy.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
    try:
        b = build(tmp_path / "repo", ui_redis_url, registry=f"{postgres_url}?options=-csearch_path%3D{schema}",
                  project="ui_test_pg")
        try:
            with TestClient(make_app(b.store)) as c:
                assert view_names(page(c, "/ui/", q="spend")) == oracle(b.store, q="spend")
                tree = page(c, "/ui/views/user_spend")
                assert tree.one("span", id="validation-status").text() == "Failed"
                assert len(tree.one("figure", id="stat-amount").all("rect", class_="bar")) == 20
                for path in ("/ui/lineage/user_spend?columns=1", "/ui/entities/user", "/ui/sources/transactions",
                             "/ui/services/fraud_model_v1", "/ui/views/hostile_view"):
                    assert c.get(path).status_code == 200
                assert c.get("/ui/views/nope").status_code == 404
        finally:
            b.store.close()
    finally:
        with engine.begin() as conn:
            conn.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()
