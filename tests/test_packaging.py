"""The wheel carries everything a user needs: built-in cities and report templates included."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_installed_wheel_runs_the_builtin_city_from_another_folder(tmp_path: Path) -> None:
    """``pip install`` of the wheel into a fresh environment, then ``sim demo`` run elsewhere,
    loads the built-in demo city from the package, not from this checkout."""
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", wheels, ROOT],
        check=True,
        cwd=tmp_path,
    )
    wheel = next(wheels.glob("sim-*.whl"))
    env_dir = tmp_path / "env"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--no-deps", wheel], check=True, cwd=tmp_path
    )
    # Dependencies come from this environment's site-packages, added as a plain path: its own
    # .pth files (this checkout's editable install) are not processed, so only the wheel's
    # `sim` can be imported.
    site = Path(
        subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = subprocess.run(
        [python, "-c", "import sim; print(sim.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=elsewhere,
        env=env,
    ).stdout
    assert str(env_dir) in where, where
    out = subprocess.run(
        [env_dir / "bin" / "sim", "demo", "--city", "demo", "--months", "3"],
        capture_output=True,
        text=True,
        check=True,
        cwd=elsewhere,
        env=env,
    )
    assert "City 'demo_city': 30,000 working-age residents in 12 micro-territories" in out.stdout
