"""The friendly client: uploads with progress, jobs that wait (ETag polling or SSE), downloads."""

from __future__ import annotations

import contextlib
import hashlib
import json
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, Generic, TypeVar, cast

import httpx
from slimline_api import AuthenticatedClient
from slimline_api.api.datasets import get_dataset, list_datasets
from slimline_api.api.fleet import list_hardware, list_workers
from slimline_api.api.jobs import cancel_job, get_job, list_jobs
from slimline_api.api.models import get_model, list_models
from slimline_api.models import DatasetRead, HardwareRead, JobRead, JobResult, ModelRead, TargetRun, WorkerRead
from slimline_api.types import UNSET, Unset

from slimline_client.errors import ReportingTransport, ServerUnavailableError, SlimlineError, raise_for_problem

TERMINAL = {"succeeded", "failed", "cancelled"}
CHUNKED_THRESHOLD_BYTES = 64 * 1024**2
PART_SIZE_BYTES = 16 * 1024**2
EVENTS_PAGE = 500  # the server's default (and a reasonable) page of events
ProgressCallback = Callable[["Job", dict[str, Any] | None], None]
T = TypeVar("T")
C = TypeVar("C")


class _CountingReader:
    """Wraps a file so that reading it reports progress (httpx streams multipart files in chunks)."""

    def __init__(self, handle: IO[bytes], on_bytes: Callable[[int], None] | None) -> None:
        self.handle, self.on_bytes = handle, on_bytes

    def read(self, size: int = -1) -> bytes:
        chunk = self.handle.read(size)
        if self.on_bytes and chunk:
            self.on_bytes(len(chunk))
        return chunk

    def __getattr__(self, name: str) -> Any:
        return getattr(self.handle, name)


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def _check(response: Any) -> Any:
    """Unwrap a generated ``Response``: the parsed body, or the typed error."""
    if response.status_code >= 400:
        raise_for_problem(httpx.Response(response.status_code, content=response.content, headers=response.headers))
    return response.parsed


def _given(value: T | None | Unset) -> T | None:
    """A generated model's optional field as a plain value: None when unset."""
    return None if isinstance(value, Unset) else value


def _paged(fetch_page: Callable[[C | None], tuple[Sequence[T], C | None]]) -> Iterator[T]:
    """Every item of a paged listing, fetched lazily: ``fetch_page(cursor)`` returns (items, next cursor or None)."""
    cursor: C | None = None
    while True:
        items, cursor = fetch_page(cursor)
        yield from items
        if cursor is None:
            return


def _cursor_page(response: Any, wrap: Callable[[Any], T]) -> tuple[list[T], str | None]:
    """One page of a generated ``list_*`` call (``items`` + ``next_cursor``), its items wrapped."""
    page = _check(response)
    next_cursor = page.next_cursor if isinstance(page.next_cursor, str) and page.next_cursor else None
    return [wrap(item) for item in page.items], next_cursor


class Model:
    def __init__(self, data: ModelRead) -> None:
        self.data = data
        self.id = data.id
        self.name = data.name

    def __repr__(self) -> str:
        return f"Model({self.id!r}, name={self.name!r}, size_bytes={self.data.size_bytes})"


class Dataset:
    def __init__(self, data: DatasetRead) -> None:
        self.data = data
        self.id = data.id
        self.name = data.name

    def __repr__(self) -> str:
        return f"Dataset({self.id!r}, name={self.name!r}, samples={self.data.num_samples})"


W = TypeVar("W", Model, Dataset)


class _Uploads(Generic[W]):
    """Upload, get, list, download, delete: the same verbs for models and datasets."""

    def __init__(
        self,
        client: Slimline,
        kind: str,
        parse: Callable[[dict[str, Any]], Any],
        wrap: Callable[[Any], W],
        get: Callable[..., Any],
        list_: Callable[..., Any],
    ) -> None:
        self._client, self._kind, self._parse = client, kind, parse
        self._wrap: Callable[[Any], W] = wrap
        self._get, self._list = get, list_
        self.last_upload_id: str | None = None  # the latest chunked upload's id (to resume it after a failure)

    def upload(
        self,
        path: str | Path,
        *,
        name: str | None = None,
        on_bytes: Callable[[int], None] | None = None,
        data_files: Sequence[str | Path] = (),
    ) -> W:
        """Upload a file (streamed); ``on_bytes(n)`` is called as chunks go out.

        ``data_files``: an ONNX model's external data files (models only), each sent under its own file name,
        which must be the ``location`` the model's tensors name. Above the client's ``chunked_threshold_bytes``
        (all files together) the upload goes up in parts (``upload_chunked``); the model and its data files
        then travel as one tar, built in a temporary folder.
        """
        path = Path(path)
        extra = [Path(p) for p in data_files]
        total = path.stat().st_size + sum(p.stat().st_size for p in extra)
        if total > self._client.chunked_threshold_bytes:
            if not extra:
                return self.upload_chunked(path, name=name, on_bytes=on_bytes)
            with tempfile.TemporaryDirectory(prefix="slimline-upload-") as tmp:
                bundle = Path(tmp) / (path.stem + ".tar")
                with tarfile.open(bundle, "w", format=tarfile.PAX_FORMAT) as tar:
                    for item in (path, *extra):
                        tar.add(item, arcname=item.name, recursive=False)
                return self.upload_chunked(bundle, name=name or path.name, on_bytes=on_bytes)
        with contextlib.ExitStack() as stack:

            def part(field: str, item: Path) -> tuple[str, tuple[str, IO[bytes], str]]:
                reader = cast(IO[bytes], _CountingReader(stack.enter_context(item.open("rb")), on_bytes))
                return field, (item.name, reader, "application/octet-stream")

            files = [part("file", path), *(part("data", item) for item in extra)]
            response = self._client.http.post(
                f"/v1/{self._kind}",
                files=files,
                data={"name": name} if name else None,
                timeout=httpx.Timeout(30, read=600, write=600),
            )
        raise_for_problem(response)
        return self._wrap(self._parse(response.json()))

    def upload_chunked(
        self,
        path: str | Path,
        *,
        name: str | None = None,
        on_bytes: Callable[[int], None] | None = None,
        upload_id: str | None = None,
        retries: int = 3,
    ) -> W:
        """Upload a file in parts (``POST /v1/uploads``, a PUT per part, complete with its SHA-256).

        Each part is retried ``retries`` times on a dropped connection; pass the ``upload_id`` of an earlier,
        interrupted call to send only the parts the server does not have. ``on_bytes(n)`` counts every byte
        sent or already stored.
        """
        path = Path(path)
        size, sha256 = path.stat().st_size, _sha256_of(path)
        http = self._client.http
        if upload_id is None:
            body = {
                "kind": self._kind.removesuffix("s"),
                "filename": path.name,
                "size_bytes": size,
                "sha256": sha256,
                "part_size_bytes": self._client.part_size_bytes,
            }
            if name:
                body["name"] = name
            response = http.post("/v1/uploads", json=body)
        else:
            response = http.get(f"/v1/uploads/{upload_id}")
        raise_for_problem(response)
        upload = response.json()
        self.last_upload_id = upload["id"]
        missing, part_size = set(upload["missing_parts"]), upload["part_size_bytes"]
        if on_bytes:
            on_bytes(sum(p["size_bytes"] for p in upload["parts"]))
        with path.open("rb") as handle:
            for number in sorted(missing):
                handle.seek((number - 1) * part_size)
                data = handle.read(part_size)
                self._put_part(upload["id"], number, data, retries)
                if on_bytes:
                    on_bytes(len(data))
        done = http.post(
            f"/v1/uploads/{upload['id']}/complete", json={"sha256": sha256}, timeout=httpx.Timeout(30, read=600)
        )
        raise_for_problem(done)
        return self._wrap(self._parse(done.json()))

    def _put_part(self, upload_id: str, number: int, data: bytes, retries: int) -> None:
        headers = {"Content-SHA256": hashlib.sha256(data).hexdigest(), "Content-Type": "application/octet-stream"}
        for attempt in range(retries + 1):
            try:
                response = self._client.http.put(
                    f"/v1/uploads/{upload_id}/parts/{number}",
                    content=data,
                    headers=headers,
                    timeout=httpx.Timeout(30, read=600, write=600),
                )
            except httpx.TransportError:
                if attempt == retries:
                    raise
                time.sleep(min(2**attempt, 10))
                continue
            raise_for_problem(response)
            return

    def get(self, item_id: str) -> W:
        return self._wrap(_check(self._get(item_id, client=self._client.api)))

    def list(self, limit: int = 50) -> Iterator[W]:
        """Every item, newest first, fetched ``limit`` per request as you iterate."""
        return _paged(
            lambda cursor: _cursor_page(
                self._list(client=self._client.api, limit=limit, cursor=cursor or UNSET), self._wrap
            )
        )

    def delete(self, item_id: str) -> None:
        raise_for_problem(self._client.http.delete(f"/v1/{self._kind}/{item_id}"))

    def download(self, item_id: str, dest: str | Path) -> Path:
        dest = Path(dest)
        with self._client.http.stream("GET", f"/v1/{self._kind}/{item_id}/content") as response:
            if response.status_code >= 400:
                response.read()
                raise_for_problem(response)
            with dest.open("wb") as out:
                for chunk in response.iter_bytes():
                    out.write(chunk)
        return dest


class Models(_Uploads[Model]):
    def __init__(self, client: Slimline) -> None:
        super().__init__(
            client, "models", ModelRead.from_dict, Model, get_model.sync_detailed, list_models.sync_detailed
        )


class Datasets(_Uploads[Dataset]):
    def __init__(self, client: Slimline) -> None:
        super().__init__(
            client, "datasets", DatasetRead.from_dict, Dataset, get_dataset.sync_detailed, list_datasets.sync_detailed
        )


class Job:
    """A job; ``refresh()``, ``wait()``, ``events()``, ``stream()``, ``download()``, ``cancel()``.

    A multi-target job (``target.hardware`` a list) lists its runs in ``targets``; ``target(cls)`` is the
    job of one class, with the same verbs. The multi-target job's own artifacts are the comparison.
    """

    def __init__(self, client: Slimline, data: JobRead, etag: str | None = None) -> None:
        self._client, self.data, self._etag = client, data, etag

    @property
    def id(self) -> str:
        return self.data.id

    @property
    def status(self) -> str:
        return str(self.data.status.value if hasattr(self.data.status, "value") else self.data.status)

    @property
    def progress(self) -> float:
        return float(self.data.progress)

    @property
    def report(self) -> dict[str, Any] | None:
        result = self.data.result
        return result.report.to_dict() if isinstance(result, JobResult) else None

    @property
    def status_reason(self) -> str | None:
        """Why a queued job is not running yet (``waiting_for_hardware``); None once a worker has it."""
        return _given(self.data.status_reason)

    @property
    def hardware_class(self) -> str | None:
        """The hardware class this job runs on (its recipe's single ``target.hardware``); None: any worker."""
        return _given(self.data.hardware_class)

    @property
    def targets(self) -> list[TargetRun]:
        """A multi-target job's runs, one per hardware class, as last read (empty for any other job)."""
        return list(_given(self.data.targets) or [])

    def target(self, hardware_class: str) -> Job:
        """The job that runs this multi-target job on ``hardware_class``: a job of its own to wait for, follow
        and download. ``ValueError`` when there is no such target."""
        for run in self.targets:
            if run.hardware_class == hardware_class:
                return self._client.jobs.get(run.job_id)
        if not self.targets:
            raise ValueError(f"job {self.id} is not a multi-target job (its recipe names one hardware class or none)")
        known = ", ".join(run.hardware_class for run in self.targets)
        raise ValueError(f"job {self.id} has no target of class {hardware_class!r}; its targets: {known}")

    def __repr__(self) -> str:
        return f"Job({self.id!r}, status={self.status!r}, progress={self.progress:.2f})"

    def refresh(self) -> bool:
        """Re-read the job with If-None-Match; returns True when it changed."""
        headers = {"If-None-Match": self._etag} if self._etag else {}
        response = self._client.http.get(f"/v1/jobs/{self.id}", headers=headers)
        if response.status_code == 304:
            return False
        raise_for_problem(response)
        self.data, self._etag = JobRead.from_dict(response.json()), response.headers.get("etag")
        return True

    def events(self, after: int = 0) -> list[dict[str, Any]]:
        """Every event with ``seq > after``, oldest first (fetched a page at a time)."""

        def page(last_seq: int | None) -> tuple[list[dict[str, Any]], int | None]:
            params = {"after": after if last_seq is None else last_seq, "limit": EVENTS_PAGE}
            response = self._client.http.get(f"/v1/jobs/{self.id}/events", params=params)
            raise_for_problem(response)
            items = list(response.json())
            return items, (int(items[-1]["seq"]) if len(items) == EVENTS_PAGE else None)

        return list(_paged(page))

    def stream(self, after: int = 0, timeout: float | None = None) -> Iterator[dict[str, Any]]:
        """Server-Sent Events as dicts, until the job ends (or ``timeout`` seconds)."""
        headers = {"Accept": "text/event-stream", "Last-Event-ID": str(after)}
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._client.http.stream(
            "GET", f"/v1/jobs/{self.id}/events", headers=headers, timeout=httpx.Timeout(30, read=60)
        ) as response:
            if response.status_code >= 400:
                response.read()
                raise_for_problem(response)
            event_name = None
            for line in response.iter_lines():
                if deadline is not None and time.monotonic() > deadline:
                    return
                if line.startswith("event: "):
                    event_name = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    if event_name == "end":
                        return
                    yield json.loads(line.removeprefix("data: "))

    def wait(
        self,
        timeout: float = 3600,
        on_progress: ProgressCallback | None = None,
        poll_s: float = 0.5,
        use_sse: bool = False,
    ) -> Job:
        """Block until the job ends; ``on_progress(job, event_or_None)`` on every change. Returns self."""
        deadline = time.monotonic() + timeout
        if use_sse:
            try:
                for event in self.stream(timeout=timeout):
                    self.refresh()
                    if on_progress:
                        on_progress(self, event)
            except httpx.TransportError:
                pass  # the stream broke (proxy, restart): ETag polling below takes over
            self.refresh()
        while self.status not in TERMINAL:
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {self.id} is still {self.status} after {timeout} s")
            time.sleep(poll_s)
            if self.refresh() and on_progress:
                on_progress(self, None)
        return self

    def cancel(self) -> Job:
        self.data = _check(cancel_job.sync_detailed(self.id, client=self._client.api))
        return self

    def artifacts(self) -> list[dict[str, Any]]:
        response = self._client.http.get(f"/v1/jobs/{self.id}/artifacts")
        raise_for_problem(response)
        return list(response.json())

    def download(self, dest: str | Path) -> dict[str, Path]:
        """Download every artifact into the directory ``dest``; returns name -> path."""
        dest = Path(dest)
        dest.mkdir(parents=True, exist_ok=True)
        saved = {}
        for artifact in self.artifacts():
            name = Path(artifact["name"]).name  # names come from the server; never let them leave dest
            with self._client.http.stream("GET", f"/v1/jobs/{self.id}/artifacts/{artifact['name']}") as response:
                if response.status_code >= 400:
                    response.read()
                    raise_for_problem(response)
                with (dest / name).open("wb") as out:
                    for chunk in response.iter_bytes():
                        out.write(chunk)
            saved[name] = dest / name
        return saved


class Jobs:
    def __init__(self, client: Slimline) -> None:
        self._client = client

    def create(
        self,
        model_id: str,
        dataset_id: str,
        recipe: dict[str, Any] | None = None,
        *,
        idempotency_key: str | None = None,
        webhook_url: str | None = None,
    ) -> Job:
        body = {**(recipe or {}), "model_id": model_id, "dataset_id": dataset_id}
        if webhook_url:
            body["webhook_url"] = webhook_url
        # the recipe goes as given: the server validates it (one schema), and answers a bad one with a
        # 422 problem naming the fields, rather than the generated models failing locally on an enum
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        response = self._client.http.post("/v1/jobs", json=body, headers=headers)
        raise_for_problem(response)
        return Job(self._client, JobRead.from_dict(response.json()), response.headers.get("etag"))

    def get(self, job_id: str) -> Job:
        return Job(self._client, _check(get_job.sync_detailed(job_id, client=self._client.api)))

    def list(self, status: str | None = None, limit: int = 50, *, parent_id: str | None = None) -> Iterator[Job]:
        """Every job (optionally only those in ``status``), newest first, fetched ``limit`` per request.
        ``parent_id``: the targets of that multi-target job instead of the jobs as submitted."""
        from slimline_api.models import ListJobsStatusType0

        def page(cursor: str | None) -> tuple[list[Job], str | None]:
            response = list_jobs.sync_detailed(
                client=self._client.api,
                limit=limit,
                cursor=cursor or UNSET,
                status=ListJobsStatusType0(status) if status else UNSET,
                parent_id=parent_id or UNSET,
            )
            return _cursor_page(response, lambda item: Job(self._client, item))

        return _paged(page)


class Keys:
    """The tenant's own API keys: list them (never the keys themselves), revoke one."""

    def __init__(self, client: Slimline) -> None:
        self._client = client

    def list(self) -> list[dict[str, Any]]:
        """Every key of this tenant: id, name, prefix, created_at, expires_at, revoked_at."""
        response = self._client.http.get("/v1/keys")
        raise_for_problem(response)
        return list(response.json()["items"])

    def revoke(self, key_id: str) -> dict[str, Any]:
        """Revoke a key of this tenant (this client's own key too); returns the key as now stored."""
        response = self._client.http.delete(f"/v1/keys/{key_id}")
        raise_for_problem(response)
        return dict(response.json())


class Slimline:
    """Entry point: ``Slimline(url, api_key)`` with ``.models``, ``.datasets``, ``.jobs``, ``.keys``, and the
    fleet: ``hardware()`` (every key) and ``workers()`` (operator keys)."""

    def __init__(
        self,
        url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        chunked_threshold_bytes: int = CHUNKED_THRESHOLD_BYTES,
        part_size_bytes: int = PART_SIZE_BYTES,
    ) -> None:
        self.chunked_threshold_bytes = chunked_threshold_bytes  # uploads above it go in parts (resumable)
        self.part_size_bytes = part_size_bytes
        self.api = AuthenticatedClient(
            base_url=url.rstrip("/"),
            token=api_key,
            timeout=httpx.Timeout(timeout),
            raise_on_unexpected_status=False,
            httpx_args={"transport": ReportingTransport()},  # unreachable server -> ServerUnavailableError
        )
        self.http = self.api.get_httpx_client()
        self.models = Models(self)
        self.datasets = Datasets(self)
        self.jobs = Jobs(self)
        self.keys = Keys(self)

    def hardware(self) -> HardwareRead:
        """The hardware classes ``target.hardware`` can name, with live and busy workers and queued and running
        jobs per class, and the live workers per generic queue (``cpu``, ``gpu``)."""
        return cast(HardwareRead, _check(list_hardware.sync_detailed(client=self.api)))

    def workers(self) -> list[WorkerRead]:
        """Every registered worker (state, current jobs, the machine it runs on); needs an operator key
        (``ForbiddenError`` otherwise)."""
        return cast(list[WorkerRead], _check(list_workers.sync_detailed(client=self.api)))

    def health(self) -> bool:
        try:
            return self.http.get("/healthz").status_code == 200
        except httpx.TransportError:
            return False

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> Slimline:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


Client = Slimline  # the name most SDKs use: ``Client(url, api_key)``

__all__ = ["Client", "Dataset", "Job", "Model", "ServerUnavailableError", "Slimline", "SlimlineError"]
