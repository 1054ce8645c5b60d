"""The sandbox's limits and switches, read from `COGNITIONOS_SANDBOX_*` when a tool first runs."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SandboxConfig(BaseSettings):
    """Limits every `execute_python` run gets; a step's own timeout only ever lowers the wall clock."""

    model_config = SettingsConfigDict(env_prefix="COGNITIONOS_SANDBOX_", extra="ignore", frozen=True)

    python: Path | None = None  # interpreter for the child; default: ours if the sandbox uid can run it
    cpu_seconds: int = Field(default=10, ge=1, le=3600)
    memory_mb: int = Field(default=512, ge=64, le=65536)
    max_processes: int = Field(default=32, ge=1, le=4096)  # processes and threads of one run
    max_file_mb: int = Field(default=16, ge=1, le=65536)
    max_open_files: int = Field(default=256, ge=16, le=65536)
    max_output_bytes: int = Field(default=64 * 1024, ge=1024, le=64 * 1024 * 1024)  # per stream
    max_code_bytes: int = Field(default=1024 * 1024, ge=1024)
    workdir_root: Path | None = None  # where private working directories are made (default: the temp dir)
    uid: int | None = Field(default=None, ge=1)  # fixed unprivileged uid instead of one per run (root only)
    gid: int | None = Field(default=None, ge=1)
    # Explicit opt-out for machines without namespaces/Landlock/seccomp. Off, a missing
    # isolation layer fails the tool instead of running code with network or write access.
    require_isolation: bool = True
