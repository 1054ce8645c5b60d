"""The developer case: the parent is not root, so isolation comes from a user + network namespace.

Run by starting the system python as `nobody` with this checkout importable; skipped where
that is impossible (not root, no system python of the same minor version).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cognitionos_dagster.settings import PROJECT_ROOT
from cognitionos_dagster.tools.sandbox import identity

SYSTEM_PYTHON = Path("/usr/bin/python3")
SITE_PACKAGES = Path(sys.prefix) / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"

SCRIPT = """
import json, sys
sys.path[:0] = [{root!r}, {site!r}]
from cognitionos_dagster.tools.sandbox import PythonSandbox, SandboxConfig
sandbox = PythonSandbox(SandboxConfig(cpu_seconds=1))
results = {{}}
for name, code in {cases!r}.items():
    r = sandbox.run(code, timeout_seconds=2)
    results[name] = [r.exit_code, r.limit, r.stdout, r.stderr.strip().splitlines()[-1:]]
print(json.dumps(results))
"""

CASES = {
    "ok": "print(6 * 7)",
    "socket": "import socket\nsocket.create_connection(('127.0.0.1', 9), timeout=1)",
    "write": "open('/tmp/cognos-nonroot-escape', 'w').write('x')",
    "sleep": "import time\ntime.sleep(60)",
}


def _system_python_matches() -> bool:
    if not SYSTEM_PYTHON.exists():
        return False
    version = subprocess.run([str(SYSTEM_PYTHON), "-c", "import sys; print(sys.version_info[:2])"],
                             capture_output=True, text=True).stdout.strip()
    return version == str(tuple(sys.version_info[:2]))


@pytest.mark.skipif(not identity.is_root(), reason="needs root to start a process as nobody")
def test_non_root_parent_is_isolated_too(tmp_path: Path) -> None:
    if not _system_python_matches() or not identity.usable_by_other(SYSTEM_PYTHON):
        pytest.skip("no world-executable system python of this minor version")
    script = SCRIPT.format(root=str(PROJECT_ROOT), site=str(SITE_PACKAGES), cases=CASES)
    proc = subprocess.run([str(SYSTEM_PYTHON), "-c", script], user=65534, group=65534, extra_groups=[],
                          capture_output=True, text=True, cwd="/", timeout=60, env={"PATH": "/usr/bin:/bin"})
    if proc.returncode != 0 and "ModuleNotFoundError" in proc.stderr:
        pytest.skip(f"the checkout is not importable as nobody: {proc.stderr.strip().splitlines()[-1]}")
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)
    assert results["ok"][:3] == [0, None, "42\n"]
    assert results["socket"][0] == 1 and "PermissionError" in results["socket"][3][0]
    assert results["write"][0] == 1 and "PermissionError" in results["write"][3][0]
    assert not Path("/tmp/cognos-nonroot-escape").exists()
    assert results["sleep"][1] == "wall_clock"
