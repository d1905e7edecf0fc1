"""Train/serve drift of one view: its serving log against a recorded training frame, per feature.

``check_drift`` is what ``aquifer drift VIEW`` and ``GET /api/v1/drift/{view}?compute=true`` run:

1. the training frame: ``training_id`` when given, else the newest recorded frame holding a feature of the
   view (``Registry.training_frames``); its sample (``aquifer.quality.samples``) holds the values;
2. the serving log of the view (``serving_log.read_serving_log``), served at or after ``since`` when given;
   values served with status ``present`` or ``stale`` count (a stale value is the stored value, past its
   freshness SLA but within its ttl: what the model got); defaults served for missing or expired values are
   left out, as training's nulls for the same rows are;
3. per feature in both: ``aquifer.quality.drift.compare`` (numeric: PSI + KS; strings, booleans, bytes:
   PSI + chi-square), with the thresholds of ``aquifer.yaml``'s ``drift`` section;
4. each result is stored (``Registry.add_drift_result``) and goes through the alert gate (kind ``drift``,
   subject ``view:feature``): one alert when a feature starts breaching, a recovery when it stops.

``DriftProblem`` says why nothing can be compared (unknown view, no training frame, no serving log).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from aquifer.alerts import (
    Alert,
    AlertGate,
    AlertSink,
    RegistryAlertStates,
    RegistrySink,
    SlackWebhookSink,
    WebhookSink,
)
from aquifer.quality.drift import CATEGORICAL, NUMERIC, DriftThresholds, FeatureDrift, compare
from aquifer.quality.samples import read_sample
from aquifer.serving.serving_log import read_serving_log

SERVED_VALUES = ("present", "stale")
"""The statuses whose values the model received (a stale value is still the stored one)."""

CATEGORICAL_TYPES = ("String", "Bool", "Bytes")


class DriftProblem(ValueError):
    """Drift cannot be computed for this request (the message says why and what to do)."""


@dataclass(frozen=True)
class DriftReport:
    """The drift of a view's features, newest training frame against the serving log."""

    view: str
    training_id: str
    results: list[FeatureDrift]
    serving_rows: int
    training_rows: int
    since: datetime | None = None
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def breached(self) -> bool:
        """True when any feature drifted."""
        return any(r.breached for r in self.results)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (the API's answer)."""
        return {"view": self.view, "training_id": self.training_id, "breached": self.breached,
                "serving_rows": self.serving_rows, "training_rows": self.training_rows,
                "since": None if self.since is None else self.since.isoformat(),
                "features": {r.feature: r.to_dict() for r in self.results}, "skipped": self.skipped}


def store_gate(store: Any) -> AlertGate:
    """The gate a command alerts through: ``aquifer.yaml``'s webhooks and the registry, states kept there."""
    online = store.config.online_store
    sinks: list[AlertSink] = [WebhookSink(url) for url in online.get("alert_webhooks") or []]
    sinks += [SlackWebhookSink(url) for url in online.get("alert_slack_webhooks") or []]
    sinks.append(RegistrySink(store.registry))
    return AlertGate(sinks, RegistryAlertStates(store.registry))


def thresholds_of(config: Any) -> DriftThresholds:
    """``DriftThresholds`` from ``aquifer.yaml``'s ``drift`` section (defaults for keys left out)."""
    settings = dict(getattr(config, "drift", None) or {})
    base = DriftThresholds()
    return DriftThresholds(
        psi=float(settings.get("psi", base.psi)), ks_pvalue=float(settings.get("ks_pvalue", base.ks_pvalue)),
        ks_statistic=float(settings.get("ks_statistic", base.ks_statistic)),
        chi2_pvalue=float(settings.get("chi2_pvalue", base.chi2_pvalue)),
        chi2_effect=float(settings.get("chi2_effect", base.chi2_effect)), bins=int(settings.get("bins", base.bins)),
        min_count=int(settings.get("min_count", base.min_count)),
    )


def training_frame_for(registry: Any, project: str, view: str, training_id: str | None) -> Any:
    """The registry's record of the training frame to compare with; ``DriftProblem`` when there is none."""
    if training_id is not None:
        record = registry.training_frame(training_id)
        if record is None or record.project != project:
            raise DriftProblem(f"no training frame {training_id!r} in project {project!r}")
        if not any(f.split(":", 1)[0] == view for f in record.features):
            raise DriftProblem(f"training frame {training_id!r} holds no feature of view {view!r} "
                               f"(it holds {', '.join(record.features)})")
        return record
    found = registry.training_frames(project, view, limit=1)
    if not found:
        raise DriftProblem(f"no training frame holds features of view {view!r}: frames are recorded by "
                           "FeatureStore.get_training_frame (or aquifer train-frame)")
    return found[0]


def check_drift(
    store: Any, view: str, *, training_id: str | None = None, since: datetime | None = None,
    thresholds: DriftThresholds | None = None, gate: AlertGate | None = None, record: bool = True,
) -> DriftReport:
    """Compare ``view``'s serving log with a training frame (see the module docstring).

    ``store`` is a ``FeatureStore``. ``record=False`` stores nothing and alerts nobody.
    """
    config = store.config
    definition = store.views.get(view)
    if definition is None:
        raise DriftProblem(f"no view {view!r} in the repo (views: {', '.join(sorted(store.views)) or 'none'})")
    frame = training_frame_for(store.registry, config.project, view, training_id)
    details = frame.details or {}
    path = details.get("sample_path")
    if not path or not Path(path).is_file():
        raise DriftProblem(f"the sample of training frame {frame.id!r} is missing ({path or 'no path recorded'})")
    refs = [f for f in frame.features if f.split(":", 1)[0] == view]
    training = read_sample(Path(path), refs)
    serving = read_serving_log(config.offline_path, config.project, view, since=since, statuses=SERVED_VALUES)
    if not serving:
        when = f" since {since.isoformat()}" if since is not None else ""
        raise DriftProblem(f"no serving log for view {view!r}{when}: set serving.log_sample_rate above 0 in "
                           "aquifer.yaml and serve lookups (the log is written in the background)")
    types = {f.name: f.dtype.name for f in definition.features}
    limits = thresholds or thresholds_of(config)
    results, skipped = [], {}
    for ref in refs:
        feature = ref.split(":", 1)[1]
        if feature not in serving:
            skipped[feature] = "not in the serving log (never served since logging began)"
            continue
        kind = CATEGORICAL if types.get(feature) in CATEGORICAL_TYPES else NUMERIC
        results.append(compare(feature, training.get(ref, []), serving[feature], kind=kind, thresholds=limits))
    serving_rows = max((len(v) for v in serving.values()), default=0)
    report = DriftReport(view, frame.id, results, serving_rows, int(details.get("sample_rows", frame.rows)), since,
                         skipped)
    if record:
        _record(store, report, gate)
    return report


def _record(store: Any, report: DriftReport, gate: AlertGate | None) -> None:
    project = store.config.project
    for result in report.results:
        metrics = {**result.to_dict(), "since": None if report.since is None else report.since.isoformat()}
        store.registry.add_drift_result(project, report.view, result.feature, report.training_id, metrics,
                                        result.breached)
        if gate is None:
            continue
        why = "; ".join(result.reasons) or "no breach"
        gate.update(Alert(
            project, "drift", f"{report.view}:{result.feature}", "warning",
            f"feature {result.feature!r} of view {report.view!r} drifted from training frame {report.training_id}: "
            f"{why}",
            {"training_id": report.training_id, "psi": result.psi, "ks_pvalue": result.ks_pvalue,
             "chi2_pvalue": result.chi2_pvalue, "serving_count": result.serving_count},
        ), result.breached)
