"""Fingerprints: metadata edits change only ``meta``; transform edits change ``data`` downstream too."""

from __future__ import annotations

from aquifer.analysis.fingerprint import normalize_python, normalize_sql

REPO = """
user = Entity("user", join_keys=["user_id"])
transactions = BatchSource("transactions", path="data/transactions.parquet")
spend = FeatureView("spend", entities=[user], transform=sql("SELECT user_id, event_ts, amount FROM {transactions}"),
                    schema=[Field("amount", Float64)], description="DESCRIPTION", ttl=timedelta(days=1))
doubled = FeatureView("doubled", entities=[user], schema=[Field("d", Float64)],
                      transform=sql("SELECT user_id, event_ts, amount * 2 AS d FROM {spend}"))


@feature_view(entities=[user], schema=[Field("z", Float64)], ttl=timedelta(days=3))
def shaped(doubled):
    \"\"\"DOCSTRING\"\"\"
    return doubled  # BODY


svc = FeatureService("svc", features=[shaped])
"""


def fingerprints(repo, text: str) -> dict:
    result = repo.write({"features/views.py": text}).analyze()
    assert result.ok, [str(p) for p in result.problems]
    return {name: fp for (_, name), fp in result.fingerprints.items()}


def test_metadata_edit_changes_meta_only(repo):
    before = fingerprints(repo, REPO)
    after = fingerprints(repo, REPO.replace("DESCRIPTION", "Spend per transaction").replace("days=1", "days=9"))
    assert after["spend"].meta != before["spend"].meta
    assert after["spend"].data == before["spend"].data
    assert {n: fp for n, fp in after.items() if n != "spend"} == {n: fp for n, fp in before.items() if n != "spend"}


def test_transform_edit_changes_data_here_and_downstream(repo):
    before = fingerprints(repo, REPO)
    after = fingerprints(repo, REPO.replace("SELECT user_id, event_ts, amount FROM", "SELECT user_id, event_ts, "
                                            "amount FROM {transactions} WHERE amount > 0 --"))
    for name in ("spend", "doubled", "shaped", "svc"):
        assert after[name].data != before[name].data, name
        assert after[name].meta == before[name].meta, name
    assert after["transactions"] == before["transactions"]
    assert after["user"] == before["user"]


def test_python_docstring_comment_and_decorator_metadata_do_not_change_data(repo):
    before = fingerprints(repo, REPO)
    edited = REPO.replace("DOCSTRING", "Now documented").replace("# BODY", "# a comment").replace("days=3", "days=4")
    after = fingerprints(repo, edited)
    assert after["shaped"].data == before["shaped"].data
    assert after["shaped"].meta != before["shaped"].meta
    changed = fingerprints(repo, REPO.replace("return doubled  # BODY", "return doubled.limit(5)"))
    assert changed["shaped"].data != before["shaped"].data
    assert changed["svc"].data != before["svc"].data


def test_normalizers():
    assert normalize_sql("select a -- note\n  from  {t}") == normalize_sql("SELECT a FROM {t}")
    source = '@deco(x=1)\ndef f(a):\n    """doc"""\n    # comment\n    return a\n'
    assert normalize_python(source) == "def f(a):\n    return a"
