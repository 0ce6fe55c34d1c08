"""Every notebook in notebooks/ runs top to bottom on the simulator, and is committed clean.

Each one executes in a temporary copy (outputs never land in the repository)
with no API key anywhere, so the toolkit falls back to its embedded simulator,
sped up through ``FLUX2_SIMULATOR_SPEED``. Beyond "no cell raised", each
notebook is checked for the outputs a reader is meant to see.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nbformat
import pytest

from flux2_widgets.catalog import pixel_size, price

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(p.name for p in NOTEBOOK_DIR.glob("*.ipynb"))
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
CELL_TIMEOUT = 180


class Outputs:
    """What a reader would see, flattened: printed text, rich reprs, widgets, errors."""

    def __init__(self, nb: Any) -> None:
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self.mimes: list[tuple[int, str, Any]] = []
        for index, cell in enumerate(nb.cells):
            for out in cell.get("outputs", []):
                if out.output_type == "stream":
                    (self.stdout if out.name == "stdout" else self.stderr).append(out.text)
                elif out.output_type in ("display_data", "execute_result"):
                    self.mimes += [(index, mime, data) for mime, data in out.data.items()]
                elif out.output_type == "error":
                    self.stderr.append(f"{out.ename}: {out.evalue}")

    @property
    def text(self) -> str:
        return "".join(self.stdout)

    def of(self, mime: str) -> list[Any]:
        return [data for _, m, data in self.mimes if m == mime]

    def everything(self) -> str:
        return self.text + "".join(self.stderr) + json.dumps([d for _, _, d in self.mimes])


def _execute(name: str, workdir: Path) -> Any:
    from nbclient import NotebookClient

    path = workdir / name
    shutil.copy(NOTEBOOK_DIR / name, path)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, kernel_name="python3", timeout=CELL_TIMEOUT,
                   resources={"metadata": {"path": str(workdir)}}).execute()
    return nb


@pytest.fixture
def kernel_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Kernels inherit this environment: simulator clock fast, the venv's kernelspec first."""
    monkeypatch.setenv("FLUX2_SIMULATOR_SPEED", "20")
    # A user-level "python3" kernelspec could point at another interpreter; the
    # venv's spec runs sys.executable (jupyter_client substitutes "python").
    monkeypatch.setenv("JUPYTER_PATH", str(Path(sys.prefix) / "share" / "jupyter"))


# --------------------------------------------------------------------------- per-notebook checks


def _quickstart(out: Outputs) -> None:
    assert "SIMULATED" in out.text
    images = [d for d in out.of("text/html") if "<img" in d] + out.of("image/png")
    assert images, "the generated image is not shown inline"
    assert "saved to" in out.text and "would have cost" in out.text
    assert out.of(WIDGET_MIME), "the Studio did not display as a widget"


def _pro_vs_flex(out: Outputs) -> None:
    ratio = price("flex", "1k") / price("pro", "1k")
    assert f"Flex costs {ratio:.1f}x as much as Pro" in out.text
    assert len(out.of(WIDGET_MIME)) >= 2, "each comparison should display as a live view"
    for label in ("Pro ", "Flex"):
        assert any(line.startswith(label) and "s on average" in line for line in out.text.splitlines())
    assert "Flex pays off once Pro would need" in out.text


def _resolution_and_cost(out: Outputs) -> None:
    assert "per megapixel" in out.text
    for res in ("1k", "2k"):
        width, height = pixel_size("1:1", res)
        assert f"{res}: {width}x{height} px" in out.text
    assert "Refused:" in out.text and "Nothing was sent" in out.text
    assert any("Cost plan" in d for d in out.of("text/html")), "cost_table should render as a table"
    assert "would have cost" in out.text
    # the any-axis grid: its plan before anything is sent, one row per image named by axis
    assert any("12 cells x 2 takes = 24 images" in d and "(not sent)" in d for d in out.of("text/html"))
    width, height = pixel_size("1:1", "2k")
    assert "bakery | warm light | 1k | take 1: " in out.text
    assert f"bakery | warm light | 2k | take 2: {width}x{height} px" in out.text
    assert "saved:" in out.text and "shop_grid.png" in out.text
    assert "makes 60 images" in out.text and "budget=" in out.text


def _prompt_ab(out: Outputs) -> None:
    assert "{'a': 1, 'b': 2, 'tie': 0} -> b" in out.text
    assert "wrote" in out.text and "prompt_ab.csv" in out.text
    rows = [line for line in out.text.splitlines() if line.startswith(("A:", "B:"))]
    assert len(rows) == 2 and all("verdict b" in row for row in rows)


def _remix(out: Outputs) -> None:
    assert "flux-2-pro-remix-image" in out.text
    width, height = pixel_size("4:3", "1k")
    assert f"{width}x{height} px" in out.text, "aspect_ratio='auto' should keep the 4:3 source's size"
    width, height = pixel_size("16:9", "1k")
    assert f"{width}x{height} px" in out.text, "with several sources, 'auto' follows the first one"
    assert "Not sent:" in out.text
    assert len([d for d in out.of("text/html") if "<img" in d]) >= 3


def _teaching_demo(out: Outputs) -> None:
    text = out.text
    for status in ("pending", "processing", "completed"):
        assert status in text
    assert '"model": "flux-2-pro-text-to-image"' in text
    assert "curl -X POST" in text and "$RUNAPI_API_KEY" in text
    assert "TaskFailedError:" in text and "was the failed task charged? False" in text
    assert "retrying POST" in text and "RateLimitError" in text
    assert "tasks created: 1" in text
    assert "requests sent: 0" in text
    assert "demo-key" not in out.everything(), "the key must never be printed"


def _expert_compare(out: Outputs) -> None:
    text = out.text
    assert "1k vs 2k compared at 1024x1024: mean difference" in text
    assert "votes in 5 comparisons (ties count half)" in text and "95% CI (Wilson)" in text
    assert any("Bradley-Terry" in d and "a teapot, studio photo" in d for d in out.of("text/html"))
    assert "lighthouse_fox_grid.png" in text and len(out.of("image/jpeg")) == 2, "heatmap and grid shown"
    assert "Pro lighthouses" in text and "studio prompt: a lighthouse" in text
    # the inspector, the blind test and the history gallery display as widgets
    assert len(out.of(WIDGET_MIME)) >= 3
    # the blind test, before its vote, does not name its tiers even in plain text
    blind = [d for d in out.of("text/plain") if "blind, hidden until a vote" in d]
    assert blind and all("Pro" not in d and "Flex" not in d for d in blind)


CHECKS: dict[str, Callable[[Outputs], None]] = {
    "01_quickstart.ipynb": _quickstart,
    "02_pro_vs_flex.ipynb": _pro_vs_flex,
    "03_resolution_and_cost.ipynb": _resolution_and_cost,
    "04_prompt_ab.ipynb": _prompt_ab,
    "05_remix.ipynb": _remix,
    "06_teaching_demo.ipynb": _teaching_demo,
    "07_expert_compare.ipynb": _expert_compare,
}


def test_every_notebook_is_checked() -> None:
    assert sorted(CHECKS) == NOTEBOOKS


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_is_committed_clean(name: str) -> None:
    nb = nbformat.read(NOTEBOOK_DIR / name, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{name} has saved outputs"
            assert cell.source.strip(), f"{name} has an empty code cell"
        assert "widgets" not in cell.get("metadata", {})
    assert "widgets" not in nb.metadata, f"{name} carries saved widget state"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_on_the_simulator(name: str, kernel_env: None, tmp_path: Path,
                                        output_dir: Path) -> None:
    nb = _execute(name, tmp_path)
    # Kept for a person to open when a check fails.
    nbformat.write(nb, output_dir / name)
    out = Outputs(nb)
    assert not out.stderr, f"{name} wrote to stderr:\n{''.join(out.stderr)[:2000]}"
    CHECKS[name](out)


def test_shared_notebook_shows_final_results_offline(kernel_env: None, tmp_path: Path,
                                                     output_dir: Path) -> None:
    """An executed notebook exported to HTML shows each comparison's final thumbnails, costs and
    progress without any widget script (those come from a CDN an offline reader cannot reach)."""
    import re

    from nbconvert import HTMLExporter

    nb = _execute("02_pro_vs_flex.ipynb", tmp_path)
    # nbclient saved the widget state, so the exporter picks the widget views where it can:
    # the static twins must carry the results on their own.
    assert "application/vnd.jupyter.widget-state+json" in nb.metadata.get("widgets", {})
    body, _ = HTMLExporter().from_notebook_node(nb)
    (output_dir / "02_pro_vs_flex.html").write_text(body)
    # each twin up to the next output (the last one is followed by the widget state's script)
    twins = [t.split("<script", 1)[0] for t in body.split('<div class="f2w-static">')[1:]]
    assert len(twins) == 2, "one static twin per comparison"
    pro, flex = price("pro", "1k"), price("flex", "1k")
    for twin in twins:
        images = re.findall(r'<img [^>]*src="data:image/jpeg;base64,([A-Za-z0-9+/=]+)"', twin)
        assert len(images) == 2 and all(len(b) > 1000 for b in images), "Pro and Flex thumbnails"
        assert "2/2 done" in twin and "queued" not in twin
        assert re.search(rf"Pro · 1k · \d+x\d+ · [^<]*\${pro:.2f}", twin), twin[-800:]
        assert re.search(rf"Flex · 1k · \d+x\d+ · [^<]*\${flex:.2f}", twin), twin[-800:]
        assert f"${pro + flex:.2f}" in twin  # the comparison's total
