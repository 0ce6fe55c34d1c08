"""Classic Notebook 7 (``jupyter notebook``): the quickstart's Studio renders and generates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ._jupyter import (
    JupyterServer,
    assert_no_widget_errors,
    assert_widgets_rendered,
    open_notebook,
    run_all,
    screenshot,
    scroll_into_view,
    visible_images,
)

pytestmark = pytest.mark.browser

QUICKSTART = "01_quickstart.ipynb"


def test_quickstart_studio_in_notebook7(page: Any, notebook7_server: JupyterServer, output_dir: Path,
                                        page_errors: list[str]) -> None:
    open_notebook(page, notebook7_server, QUICKSTART)
    run_all(page, QUICKSTART)
    assert_widgets_rendered(page)

    studio = page.locator(".f2w-studio").first
    studio.wait_for(state="visible")
    scroll_into_view(studio)
    studio.get_by_role("button", name="Generate").click()
    assert visible_images(studio.locator(".f2w-gallery"), 60.0) == 1
    studio.locator(".f2w-tile--completed").first.wait_for(state="visible", timeout=60_000)
    screenshot(page, output_dir, "notebook7-studio", studio)
    assert_no_widget_errors(page_errors)
