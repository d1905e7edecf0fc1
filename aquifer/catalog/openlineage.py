"""OpenLineage: a run event per view run (START, COMPLETE, FAIL) and a job event per view on apply.

Each view is a job ``<project>.<view>`` in the hook's ``namespace`` (default ``aquifer``). A batch or backfill
run reads the view's upstream datasets and writes the view; a materialization reads the view and writes its
online table. Output datasets carry the schema facet and the column-lineage facet (from the analysis's column
edges); a failed run carries the error-message facet. Sources map to OpenLineage's dataset naming: files
``file`` + absolute path, tables ``aquifer`` + table name, Kafka topics ``kafka://<bootstrap>`` + topic.
Transport: ``file`` (one JSON event per line, appended) or ``http`` (the OpenLineage HTTP API, e.g. Marquez).
"""

from __future__ import annotations

import os
from typing import Any

from openlineage.client import OpenLineageClient
from openlineage.client.event_v2 import InputDataset, Job, JobEvent, OutputDataset, Run, RunEvent, RunState
from openlineage.client.facet_v2 import (
    column_lineage_dataset,
    documentation_dataset,
    error_message_run,
    job_type_job,
    nominal_time_run,
    ownership_dataset,
    schema_dataset,
)

from aquifer.catalog.describe import DatasetRef, Describer, ViewDescription
from aquifer.catalog.notices import COMPLETE, FAIL, START, ApplyNotice, RunNotice

PRODUCER = "https://github.com/aquifer-dev/aquifer"
_STATES = {START: RunState.START, COMPLETE: RunState.COMPLETE, FAIL: RunState.FAIL}


class OpenLineageHook:
    """Emits OpenLineage events through the client's file or HTTP transport."""

    def __init__(self, name: str, transport: str | None = None, path: str | None = None, url: str | None = None,
                 endpoint: str = "api/v1/lineage", namespace: str = "aquifer", api_key_env: str | None = None,
                 timeout_s: float = 5.0):
        self.name, self.namespace = name, namespace
        transport = transport or ("file" if path else "http")
        if transport == "file":
            from openlineage.client.transport.file import FileConfig, FileTransport

            os.makedirs(os.path.dirname(os.path.abspath(str(path))), exist_ok=True)
            chosen: Any = FileTransport(FileConfig(log_file_path=str(path), append=True))
        else:
            from openlineage.client.transport.http import ApiKeyTokenProvider, HttpConfig, HttpTransport, TokenProvider

            key = os.environ.get(api_key_env) if api_key_env else None
            auth = ApiKeyTokenProvider({"apiKey": key}) if key else TokenProvider({})
            # no retries: a catalog that is down costs a run one timeout per event, not a back-off series
            chosen = HttpTransport(HttpConfig(url=str(url), endpoint=endpoint, timeout=float(timeout_s), auth=auth,
                                              retry={"total": 0}))
        self.client = OpenLineageClient(transport=chosen, config={"transport": {"type": transport}})

    # --- events ---------------------------------------------------------------------------------

    def on_apply(self, notice: ApplyNotice) -> None:
        """A job event per view: its static lineage (inputs, output with schema and column lineage)."""
        for view in notice.describer.views():
            desc = notice.describer.view(view)
            self.client.emit(JobEvent(
                eventTime=notice.applied_at.isoformat(), producer=PRODUCER, job=self._job(notice.project, desc),
                inputs=[self._input(notice.describer, d) for d in desc.inputs],
                outputs=[self._output(notice.describer, desc)],
            ))

    def on_run(self, notice: RunNotice) -> None:
        """A run event of the view's job."""
        self.client.emit(self.run_event(notice))

    def run_event(self, notice: RunNotice) -> RunEvent:
        """The OpenLineage ``RunEvent`` for ``notice``."""
        describer, desc = notice.describer, notice.describer.view(notice.view)
        run_facets: dict[str, Any] = {}
        if notice.ranges:
            run_facets["nominalTime"] = nominal_time_run.NominalTimeRunFacet(
                nominalStartTime=min(s for s, _ in notice.ranges).isoformat(),
                nominalEndTime=max(e for _, e in notice.ranges).isoformat())
        if notice.state == FAIL and notice.error:
            run_facets["errorMessage"] = error_message_run.ErrorMessageRunFacet(
                message=notice.error, programmingLanguage="PYTHON")
        if notice.kind == "materialize":
            inputs = [InputDataset(namespace=self.namespace, name=self._view_name(describer, desc.name),
                                   facets={"schema": _schema(desc.fields)})]
            online = describer.config.online_store.get("url", "redis")
            outputs = [OutputDataset(namespace=_redact(str(online)), name=self._view_name(describer, desc.name),
                                     facets={"schema": _schema(desc.fields),
                                             "columnLineage": self._identity_lineage(describer, desc)})]
        else:
            inputs = [self._input(describer, d) for d in desc.inputs]
            outputs = [self._output(describer, desc)]
        return RunEvent(
            eventType=_STATES[notice.state], eventTime=notice.at.isoformat(), producer=PRODUCER,
            run=Run(runId=notice.run_id, facets=run_facets), job=self._job(notice.project, desc, notice.kind),
            inputs=inputs, outputs=outputs,
        )

    def close(self) -> None:
        """Flush and close the transport."""
        self.client.close(timeout=5.0)

    # --- naming ---------------------------------------------------------------------------------

    def _view_name(self, describer: Describer, view: str) -> str:
        return f"{describer.project}.{view}"

    def _job(self, project: str, desc: ViewDescription, kind: str = "batch") -> Job:
        job_type = "MATERIALIZE" if kind == "materialize" else "FEATURE_VIEW"
        return Job(namespace=self.namespace, name=f"{project}.{desc.name}",
                   facets={"jobType": job_type_job.JobTypeJobFacet(
                       processingType="STREAMING" if kind == "stream" else "BATCH", integration="AQUIFER",
                       jobType=job_type)})

    def _dataset_id(self, describer: Describer, ref: DatasetRef) -> tuple[str, str]:
        if ref.location_kind == "view":
            return self.namespace, self._view_name(describer, ref.name)
        if ref.location_kind == "file":
            return "file", ref.location
        if ref.location_kind == "topic":
            servers = str(describer.config.kafka.get("bootstrap_servers", "")).split(",")[0].strip()
            return f"kafka://{servers}", ref.location
        return self.namespace, ref.location

    def _input(self, describer: Describer, ref: DatasetRef) -> InputDataset:
        namespace, name = self._dataset_id(describer, ref)
        facets = {"schema": _schema(ref.fields)} if ref.fields else {}
        return InputDataset(namespace=namespace, name=name, facets=facets)

    def _output(self, describer: Describer, desc: ViewDescription) -> OutputDataset:
        facets: dict[str, Any] = {"schema": _schema(desc.fields)}
        lineage: dict[str, list[Any]] = {}
        for edge in desc.column_edges:
            if edge.from_node not in describer.analysis.definitions:
                continue
            namespace, name = self._dataset_id(describer, describer.dataset(edge.from_node))
            lineage.setdefault(edge.to_column, []).append(column_lineage_dataset.InputField(
                namespace=namespace, name=name, field=edge.from_column))
        if lineage:
            facets["columnLineage"] = column_lineage_dataset.ColumnLineageDatasetFacet(
                fields={col: column_lineage_dataset.Fields(inputFields=found)
                        for col, found in sorted(lineage.items())})
        if desc.description:
            facets["documentation"] = documentation_dataset.DocumentationDatasetFacet(description=desc.description)
        if desc.owner:
            facets["ownership"] = ownership_dataset.OwnershipDatasetFacet(
                owners=[ownership_dataset.Owner(name=desc.owner, type="OWNER")])
        return OutputDataset(namespace=self.namespace, name=self._view_name(describer, desc.name), facets=facets)

    def _identity_lineage(self, describer: Describer, desc: ViewDescription) -> Any:
        source = self._view_name(describer, desc.name)
        return column_lineage_dataset.ColumnLineageDatasetFacet(fields={
            f.name: column_lineage_dataset.Fields(
                inputFields=[column_lineage_dataset.InputField(namespace=self.namespace, name=source, field=f.name)],
                transformationType="IDENTITY")
            for f in desc.fields})


def _schema(fields: Any) -> Any:
    return schema_dataset.SchemaDatasetFacet(fields=[
        schema_dataset.SchemaDatasetFacetFields(name=f.name, type=f.type or None, description=f.description or None)
        for f in fields])


def _redact(url: str) -> str:
    """``redis://user:pw@host:6379/0`` -> ``redis://host:6379`` (no credentials, no db, in a dataset name)."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    return f"{parts.scheme or 'redis'}://{host}" + (f":{parts.port}" if parts.port else "")
