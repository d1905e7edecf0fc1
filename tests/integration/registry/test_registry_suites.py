"""Suite versions on SQLite and PostgreSQL: added only on change, per view, concurrent savers agree."""

from __future__ import annotations

import threading

from aquifer.registry import Suite


def suite(bound: int) -> dict:
    return {"name": "t.v", "id": None, "notes": None, "meta": {"aquifer": {"view": "v"}},
            "expectations": [{"type": "expect_column_values_to_be_between",
                              "kwargs": {"column": "a", "min_value": 0, "max_value": bound},
                              "meta": {"aquifer": {"name": "a.in_range", "source": "profiled"}}}]}


def test_versions_only_on_change(registry):
    assert registry.latest_suite("t", "v") is None and registry.suites("t", "v") == []
    first, added = registry.save_suite("t", "v", suite(1))
    assert isinstance(first, Suite) and (first.version, added) == (1, True)
    assert registry.save_suite("t", "v", suite(1))[1] is False
    assert registry.save_suite("t", "v", suite(2))[0].version == 2
    assert registry.save_suite("t", "v", suite(1))[0].version == 3  # back to an older content: a new version
    assert registry.latest_suite("t", "v").suite == suite(1)
    assert [s.version for s in registry.suites("t", "v")] == [1, 2, 3]
    assert registry.save_suite("t", "w", suite(2))[0].version == 1


def test_concurrent_savers_of_one_suite_add_one_version(open_registry):
    handles = [open_registry() for _ in range(4)]
    results: list = []

    def save(r) -> None:
        results.append(r.save_suite("t", "v", suite(7)))

    threads = [threading.Thread(target=save, args=(h,)) for h in handles]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(added for _, added in results) == [False, False, False, True]
    assert [s.version for s in handles[0].suites("t", "v")] == [1]
