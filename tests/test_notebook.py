"""The notebook tour runs top to bottom on the venv's kernel, no cell raising, and shows what a reader expects:
formulas rendered as LaTeX and figures inline."""

import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

TOUR = Path(__file__).resolve().parent.parent / "examples" / "tour.ipynb"


def test_tour_executes_with_latex_formulas_and_inline_figures():
    notebook = nbformat.read(TOUR, as_version=4)
    began = time.perf_counter()
    # the python3 kernel is ipykernel in this interpreter's environment; a raising cell raises CellExecutionError
    NotebookClient(notebook, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(TOUR.parent)}},
                   allow_errors=False).execute()
    seconds = time.perf_counter() - began
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    latex = [out.data["text/latex"] for out in outputs if "text/latex" in out.get("data", {})]
    images = [out for out in outputs if "image/png" in out.get("data", {})]
    assert len(latex) >= 2 and all(text.startswith("$$") for text in latex)
    assert any(r"\frac{\partial y}{\partial w}" in text for text in latex)   # autograd's derived gradient
    assert len(images) >= 4                     # activation, regression, optimizers, the History plot
    text = "".join(out.get("text", "") for out in outputs if out.output_type == "stream")
    assert "w.grad = tensor([5.])" in text and "softmax - onehot" in text and "History(" in text
    assert seconds < 240
