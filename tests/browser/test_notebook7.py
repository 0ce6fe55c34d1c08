"""Classic Notebook 7 (``jupyter notebook``): the quickstart's Studio renders and generates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ._jupyter import (
    IMAGE_TIMEOUT,
    QUICKSTART,
    JupyterServer,
    assert_no_widget_errors,
    first_studio,
    open_and_run,
    screenshot,
    visible_images,
)

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
