"""The notebooks run top to bottom on a real Jupyter kernel, and are committed without outputs.

Each notebook is executed in memory, from a temporary copy of ``notebooks/`` and ``scenarios/``,
so the result databases it writes (``../results/*.db``) land in the temporary copy and the
repository's notebooks are never modified. The kernel is this interpreter: a ``python3``
kernelspec pointing at ``sys.executable`` is installed in a temporary ``JUPYTER_PATH``, which takes
precedence over any kernelspec of the machine or the user.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import ipykernel.kernelspec
import nbformat
import pytest
from nbclient import NotebookClient

import sim

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
EXPECTED = {"01_quickstart.ipynb", "02_compare_batch.ipynb", "03_design_a_contract.ipynb"}
KERNEL = "python3"
CELL_TIMEOUT_S = 300
#: A Python warning printed by a cell, e.g. "FutureWarning: ..." or "UserWarning: ...".
WARNING = re.compile(r"\b[A-Z]\w*Warning: ")
#: Printed when the kernel imports mesa (which imports ``tqdm.auto``) and ipywidgets is missing;
#: harmless for these notebooks, which display no progress bar.
TOLERATED_WARNINGS = (re.compile(r"TqdmWarning: IProgress not found"),)


@pytest.fixture(scope="module")
def kernel_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A ``python3`` kernelspec for this interpreter, in a temporary JUPYTER_PATH."""
    prefix = tmp_path_factory.mktemp("jupyter")
    ipykernel.kernelspec.install(prefix=str(prefix), kernel_name=KERNEL)
    data_dir = prefix / "share" / "jupyter"
    assert (data_dir / "kernels" / KERNEL / "kernel.json").is_file()
    search_path = os.pathsep.join(p for p in (str(data_dir), os.environ.get("JUPYTER_PATH")) if p)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", search_path)
        patch.setenv("JUPYTER_RUNTIME_DIR", str(prefix / "runtime"))
        patch.setenv("IPYTHONDIR", str(prefix / "ipython"))
        yield data_dir


def execute(notebook: nbformat.NotebookNode, cwd: Path) -> None:
    """Run every cell of ``notebook`` in place with ``cwd`` as the working directory."""
    client = NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT_S,
        kernel_name=KERNEL,
        resources={"metadata": {"path": str(cwd)}},
    )
    client.execute()


def outputs(notebook: nbformat.NotebookNode) -> Iterator[tuple[int, nbformat.NotebookNode]]:
    """Every output of every code cell, with the cell's index."""
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                yield index, output


def test_the_three_notebooks_are_there() -> None:
    assert {path.name for path in NOTEBOOKS} >= EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=nbformat.NO_CONVERT)
    nbformat.validate(notebook)
    assert notebook.nbformat == 4
    assert notebook.metadata.get("kernelspec", {}).get("name") == KERNEL
    assert "widgets" not in notebook.metadata
    for index, cell in enumerate(notebook.cells):
        assert "widgets" not in cell.get("metadata", {}), f"cell {index} holds widget state"
        assert "execution" not in cell.get("metadata", {}), f"cell {index} holds timings"
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {index} has outputs: strip them"
            assert cell.execution_count is None, f"cell {index} has an execution count"


def test_kernel_runs_this_interpreter_and_this_sim(kernel_env: Path, tmp_path: Path) -> None:
    probe = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("import sys, sim\nprint(sys.prefix)\nprint(sim.__file__)")]
    )
    execute(probe, tmp_path)
    (_, output), *_ = outputs(probe)
    prefix, sim_file = output["text"].split()
    assert Path(prefix).resolve() == Path(sys.prefix).resolve()
    assert Path(sim_file).resolve() == Path(sim.__file__).resolve()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs(path: Path, kernel_env: Path, tmp_path: Path) -> None:
    committed = path.read_bytes()
    work = tmp_path / "project"
    shutil.copytree(
        NOTEBOOKS_DIR,
        work / "notebooks",
        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "*.db"),
    )
    shutil.copytree(ROOT / "scenarios", work / "scenarios")
    notebook = nbformat.read(work / "notebooks" / path.name, as_version=4)

    execute(notebook, work / "notebooks")

    assert path.read_bytes() == committed, "executing the notebook modified the repository copy"
    assert list((work / "results").glob("*.db")), "the notebook wrote no results database"
    produced = [output for _, output in outputs(notebook)]
    assert any("image/png" in output.get("data", {}) for output in produced), "no figure"
    warnings = [
        f"cell {index}: {output['text'].strip()}"
        for index, output in outputs(notebook)
        if output.output_type == "stream"
        and output.name == "stderr"
        and WARNING.search(output["text"])
        and not any(tolerated.search(output["text"]) for tolerated in TOLERATED_WARNINGS)
    ]
    assert not warnings, "the notebook printed warnings:\n" + "\n".join(warnings)
