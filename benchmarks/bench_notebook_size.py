"""How big a saved notebook gets: 16 2k results, displayed and in a live widget view.

Executes a notebook (nbclient, simulator, widget state stored as JupyterLab does
with "save widget state") that shows 16 2k generations inline and a 16-cell
2k comparison grid, then prints the saved .ipynb size against the full PNGs.

    .venv/bin/python benchmarks/bench_notebook_size.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

CELLS = [
    "from flux2_widgets import default_client, compare_grid\n"
    "client = default_client()",
    "gens = client.generate_many([{'prompt': f'a lighthouse, variation {i}', 'resolution': '2k'}\n"
    "                             for i in range(16)])\n"
    "for gen in gens:\n"
    "    display(gen)\n"
    "png_bytes = sum(len(g.images[0].data) for g in gens)\n"
    "print('full PNGs:', png_bytes)",
    "grid = compare_grid([f'a harbour at night, take {i}' for i in range(8)], tiers=('pro', 'flex'),\n"
    "                    resolutions=('2k',))\n"
    "grid",
    "grid.wait()\nprint(grid.total_text)",
]


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["FLUX2_SIMULATOR_SPEED"] = "40"
        os.environ["FLUX2_RESULTS_DIR"] = str(Path(tmp) / "results")
        os.environ.pop("RUNAPI_API_KEY", None)
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
        started = time.perf_counter()
        NotebookClient(nb, timeout=300, kernel_name="python3", store_widget_state=True,
                       resources={"metadata": {"path": tmp}}).execute()
        path = Path(tmp) / "sixteen_2k.ipynb"
        nbformat.write(nb, path)
        size = path.stat().st_size
        png = next(int(line.split()[-1]) for cell in nb.cells for out in cell.get("outputs", [])
                   for line in out.get("text", "").splitlines() if line.startswith("full PNGs:"))
        state = len(str(nb.metadata.get("widgets", "")))
        print(f"ran in {time.perf_counter() - started:.1f} s with {sys.executable}")
        print("16 2k generations displayed inline + a 16-cell 2k comparison grid (widget state saved)")
        print(f"saved notebook: {size / 1e6:.2f} MB  (widget state {state / 1e6:.2f} MB)")
        print(f"the 16 inline results' full PNGs: {png / 1e6:.2f} MB, kept on disk, not in the notebook")


if __name__ == "__main__":
    main()
