"""Every notebook in notebooks/ runs top to bottom on generated data."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
#: Notebooks that train and register models: their MLflow store must be in their own folder.
#: (voc_theme_mining analyses comments without MLflow.)
TRAINS_MODELS = {
    "csat_model_review",
    "monitoring",
    "retraining_workflow",
    "sentiment_model_review",
}


def test_notebooks_are_found() -> None:
    expected = TRAINS_MODELS | {"voc_theme_mining"}
    assert expected <= {p.stem for p in NOTEBOOKS}


@pytest.mark.slow
@pytest.mark.integration
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, tmp_path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    errors = [
        out
        for cell in notebook.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.output_type == "error"
    ]
    assert not errors
    if path.stem in TRAINS_MODELS:
        assert (tmp_path / "mlflow.db").exists()
