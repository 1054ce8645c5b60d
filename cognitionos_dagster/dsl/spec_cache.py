"""Validated specs kept by content hash, so a folder is parsed again only where a file changed.

Parsing and validating dominates loading a spec folder, and every Dagster process loads it
(the code server at each reload, each run worker); reading back a validated model costs a
fraction of that. An entry is keyed by the file's path and the sha256 of its content, under a
folder named for everything else the result depends on (the DSL's own code and the catalog of
agent, tool and policy names), so an edited file, a changed catalog or a new release each miss.

An index maps each file to its size, mtime, content hash, id, version and the workflows it
calls. A file whose size and mtime match its entry is not even read: a run worker finds its
workflow and the sub-workflows it calls among a thousand files from the index alone. Entries
written within a couple of seconds of the file's mtime are re-hashed (an edit inside the same
clock tick keeps size and mtime). Pickles are read only from the user's own COGNITIONOS_HOME.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import pickle
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from cognitionos_dagster.dsl import formats
from cognitionos_dagster.dsl.catalog import Catalog
from cognitionos_dagster.dsl.models import WorkflowRef, WorkflowSpec

_RACY_NS = 2_000_000_000
_DSL_DIR = Path(__file__).parent


@dataclass(frozen=True)
class Header:
    """What the index knows of one file without opening its model."""

    path: str
    size: int
    mtime_ns: int
    stored_ns: int
    sha256: str
    id: str
    version: str
    needs: tuple[str, ...]
    """Refs of the workflows a job of this file needs: those it calls, and those whose assets it reads."""

    @property
    def job_name(self) -> str:
        return f"{self.id}__{formats.version_suffix(self.version)}"

    @property
    def version_key(self) -> formats.VersionKey:
        return formats.version_key(self.version)


def fingerprint(catalog: Catalog) -> str:
    """Everything besides the file that decides whether a spec validates: the DSL's code and the catalog."""
    digest = hashlib.sha256()
    for source in sorted(_DSL_DIR.glob("*.py")):
        digest.update(source.name.encode() + b"\0" + source.read_bytes())
    for kind, models in (("agents", catalog.agents), ("tools", catalog.tools)):
        for name, model in sorted(models.items()):
            shape = (model.__module__, model.__qualname__, sorted(model.model_fields)) if model else None
            digest.update(repr((kind, name, shape)).encode())
    digest.update(repr((sorted(catalog.policies), catalog.allow_unknown)).encode())
    digest.update(repr(sorted((role, sorted(tools)) for role, tools in catalog.agent_tools.items())).encode())
    digest.update(repr(sorted((role, d.model_dump_json()) for role, d in catalog.role_defaults.items())).encode())
    return digest.hexdigest()[:16]


class SpecCache:
    """One folder of cached models and its index; safe to share between processes (writes are atomic
    renames, and a lost index update only means one more parse)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._models = str(folder / "specs")
        self._index: dict[str, Header] | None = None
        self._dirty = False

    @classmethod
    def under(cls, home: Path, catalog: Catalog) -> SpecCache:
        return cls(home / "spec_cache" / fingerprint(catalog))

    # ------------------------------------------------------------------ index
    @property
    def index(self) -> dict[str, Header]:
        if self._index is None:
            self._index = {}
            with contextlib.suppress(OSError, ValueError, TypeError):
                raw = json.loads((self.folder / "index.json").read_text())
                self._index = {path: Header(**{**entry, "needs": tuple(entry["needs"])}) for path, entry in raw.items()}
        return self._index

    def header(self, file: Path) -> Header | None:
        """The file's entry when its size and mtime (or, for a recent entry, its content) still match."""
        entry = self.index.get(str(file))
        if entry is None:
            return None
        try:
            stat = file.stat()
        except OSError:
            return None
        if (stat.st_size, stat.st_mtime_ns) != (entry.size, entry.mtime_ns):
            return None
        if entry.stored_ns - entry.mtime_ns < _RACY_NS:
            now = time.time_ns()  # before reading: an edit after this point gets a later mtime
            if _sha256(file) != entry.sha256:
                return None
            if now - entry.mtime_ns >= _RACY_NS:
                # Verified outside the window: trust size and mtime from here on (a folder written just
                # before its first load, a fresh checkout, is otherwise re-hashed at every load).
                entry = replace(entry, stored_ns=now)
                self.index[str(file)] = entry
                self._dirty = True
        return entry

    def save(self) -> None:
        """Write the index when it changed (atomically: readers see the old or the new one)."""
        if not self._dirty or self._index is None:
            return
        _write_atomic(self.folder / "index.json",
                      json.dumps({p: asdict(h) for p, h in self._index.items()}).encode())
        self._dirty = False

    # ------------------------------------------------------------------ models
    def model(self, header: Header) -> WorkflowSpec | None:
        return self.model_of(header.path, header.sha256)

    def model_of(self, path: str, sha256: str) -> WorkflowSpec | None:
        """The validated spec of `path` with content `sha256`, if one was kept."""
        try:
            with open(self._model_path(path, sha256), "rb") as kept:
                spec = pickle.load(kept)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError, TypeError):
            return None
        return spec if isinstance(spec, WorkflowSpec) and spec.sha256 == sha256 else None

    def store(self, spec: WorkflowSpec, file: Path, stat: os.stat_result, *, model: bool = True) -> Header:
        """Keep a validated spec (`model=False`: only index it again, its model is kept already); `stat` is
        taken before the file was read, so an edit made meanwhile changes the mtime and misses next time."""
        if model:
            _write_atomic(Path(self._model_path(str(file), spec.sha256)),
                          pickle.dumps(spec, protocol=pickle.HIGHEST_PROTOCOL))
        header = Header(path=str(file), size=stat.st_size, mtime_ns=stat.st_mtime_ns, stored_ns=time.time_ns(),
                        sha256=spec.sha256, id=spec.id, version=spec.version,
                        needs=needed_workflows(spec))
        self.index[str(file)] = header
        self._dirty = True
        return header

    def _model_path(self, path: str, sha256: str) -> str:
        """A plain string: building a thousand `Path`s costs more than reading the files back."""
        key = hashlib.sha256(f"{path}\0{sha256}".encode()).hexdigest()
        return os.path.join(self._models, key[:2], f"{key}.pickle")


def needed_workflows(spec: WorkflowSpec) -> tuple[str, ...]:
    """Sub-workflows by their ref, and the producers of `from_asset` inputs by id (their newest
    version makes the asset): compiling a job needs all of them."""
    calls = [str(s.workflow) for s in spec.steps if s.workflow is not None]
    producers = sorted({key.partition("/")[0] for key in spec.upstream_assets.values()})
    return tuple(calls + producers)


def closure(headers: list[Header], root: WorkflowRef | str) -> list[Header]:
    """The headers a job needs: the root (a ref, or a job name `<id>__v…` / `<id>`) and every workflow it
    calls, transitively. Empty when the root is unknown; a call that resolves to nothing is left for the
    cross-file check to report."""
    by_id: dict[str, list[Header]] = {}
    for header in headers:
        by_id.setdefault(header.id, []).append(header)

    def resolve(ref: WorkflowRef) -> list[Header]:
        found = by_id.get(ref.id, [])
        if ref.version is not None:
            return [h for h in found if h.version == ref.version]
        return [max(found, key=lambda h: h.version_key)] if found else []

    if isinstance(root, WorkflowRef):
        todo = resolve(root)
    else:
        todo = [h for h in headers if h.job_name == root] or resolve(WorkflowRef(id=root))
    seen: dict[str, Header] = {}
    while todo:
        header = todo.pop()
        if header.path in seen:
            continue
        seen[header.path] = header
        for need in header.needs:
            todo += resolve(WorkflowRef.parse(need))
    return list(seen.values())


def _sha256(file: Path) -> str:
    try:
        return hashlib.sha256(file.read_bytes()).hexdigest()
    except OSError:
        return ""


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
