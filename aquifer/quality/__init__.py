"""Feature quality: statistics, expectation suites, validation, drift, schema enforcement.

Modules (each named after its concept): ``statistics`` (mergeable per-feature sketches and their summary),
``expectations`` (what a feature must satisfy: declared in the DSL and derived from profiles), ``suites``
(Great Expectations suites built from them; GX's pandas engine for aggregate expectations), ``validation``
(results per expectation and per range; engines count, this module judges), ``profiling`` (statistics of a
pandas sample when none are stored), ``drift`` (train/serve distribution distances).
This room imports definitions, times, config, alerts and aggregations; engines, runs, training, serving, the
API, the SDK and the CLI import it.
"""
