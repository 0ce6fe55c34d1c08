"""Classic Notebook 7 (``jupyter notebook``): the quickstart's Studio renders and generates."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from ._jupyter import (
    IMAGE_TIMEOUT,
    QUICKSTART,
    JupyterServer,
    assert_no_python_errors,
    assert_no_widget_errors,
    assert_widget_messages_sent_to_subshells,
    button,
    first_studio,
    open_and_run,
    screenshot,
    scroll_into_view,
    visible_images,
    write_notebook,
)
from .conftest import client_cell

pytestmark = pytest.mark.browser


def test_quickstart_studio_in_notebook7(page: Any, notebook7_server: JupyterServer, output_dir: Path,
                                        page_errors: list[str]) -> None:
    open_and_run(page, notebook7_server, QUICKSTART)

    studio = first_studio(page)
    studio.get_by_role("button", name="Generate").click()
    assert visible_images(studio.locator(".f2w-gallery"), IMAGE_TIMEOUT) == 1
    studio.locator(".f2w-tile--completed").first.wait_for(state="visible", timeout=IMAGE_TIMEOUT * 1000)
    screenshot(page, output_dir, "notebook7-studio", studio)
    assert_no_widget_errors(page_errors)


def test_notebook7_buttons_smoke(page: Any, notebook7_server: JupyterServer, fresh_sim: Any,
                                 output_dir: Path, page_errors: list[str]) -> None:
    """Generate in a Studio, then a comparison's vote, Open and Download, with no Python error;
    the widget messages go to a kernel subshell, as in JupyterLab."""
    name = write_notebook(notebook7_server.root_dir, "browser_nb7.ipynb", [
        client_cell(fresh_sim, "results-nb7"),
        "studio = Studio(client, prompt='a red fox in fresh snow', save_dir='results-nb7')\nstudio",
        "cmp = compare_tiers('a lighthouse at dawn', client=client)\ncmp",
    ])
    open_and_run(page, notebook7_server, name)
    studio = first_studio(page)
    button(studio, "Generate").click()
    assert visible_images(studio.locator(".f2w-gallery"), IMAGE_TIMEOUT) == 1

    view = page.locator(".f2w-cmp").first
    scroll_into_view(view)
    assert visible_images(view, IMAGE_TIMEOUT, minimum=2) == 2
    button(view, "Pro wins").click()
    view.get_by_text(re.compile(r"votes Pro: 1 · Flex: 0 · tie: 0")).wait_for(state="visible")
    tile = view.locator(".f2w-tile--completed").first
    button(tile, "Open").click()
    tile.locator(".f2w-viewer img").wait_for(state="visible")
    with page.expect_download() as info:  # one click, a named file
        tile.locator(".f2w-download-btn").click()
    assert Path(info.value.path()).read_bytes()[:4] == b"\x89PNG"
    assert info.value.suggested_filename.endswith(("_pro_1k.png", "_flex_1k.png"))
    screenshot(page, output_dir, "notebook7-buttons", view)
    assert_widget_messages_sent_to_subshells(page, name)
    assert_no_python_errors(page, name)
    assert_no_widget_errors(page_errors)
