"""JupyterLab, end to end: run the notebooks, press Generate, see the images."""

from __future__ import annotations

import re
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
    scroll_into_view,
    visible_images,
)

pytestmark = pytest.mark.browser

PRO_VS_FLEX = "02_pro_vs_flex.ipynb"


def test_quickstart_studio_generates_images(page: Any, lab_server: JupyterServer, output_dir: Path,
                                            page_errors: list[str]) -> None:
    open_and_run(page, lab_server, QUICKSTART)

    # client.generate's result shows inline, above the Studio.
    scroll_into_view(page.locator(".jp-OutputArea-output img[src^='data:image/']").first)
    visible_images(page.locator(".jp-Notebook"), IMAGE_TIMEOUT)

    studio = first_studio(page)
    # Simulated mode must be unmistakable.
    studio.get_by_text("SIMULATED").first.wait_for(state="visible")
    screenshot(page, output_dir, "lab-studio-before", studio)

    # One Pro image, then one Flex image: two tiles, each filled when its own task completes.
    studio.get_by_role("button", name="Generate").click()
    studio.get_by_role("button", name="Flex", exact=True).click()
    studio.get_by_role("button", name="Generate").click()
    gallery = studio.locator(".f2w-gallery")
    assert visible_images(gallery, IMAGE_TIMEOUT, minimum=2) == 2
    completed = gallery.locator(".f2w-tile--completed")
    completed.nth(1).wait_for(state="visible", timeout=IMAGE_TIMEOUT * 1000)
    assert completed.count() == 2
    screenshot(page, output_dir, "lab-studio-after", studio)
    assert_no_widget_errors(page_errors)


def test_pro_vs_flex_shows_both_tiers(page: Any, lab_server: JupyterServer, output_dir: Path,
                                      page_errors: list[str]) -> None:
    open_and_run(page, lab_server, PRO_VS_FLEX)

    views = page.locator(".f2w-cmp")
    views.nth(1).wait_for(state="attached")
    assert views.count() == 2, "one side-by-side view per prompt"
    for index in range(views.count()):
        view = views.nth(index)
        scroll_into_view(view)
        assert visible_images(view, IMAGE_TIMEOUT, minimum=2) == 2
        for label in ("Pro", "Flex"):
            view.get_by_text(re.compile(rf"^{label} · 1k")).first.wait_for(state="visible")
    screenshot(page, output_dir, "lab-pro-vs-flex", views.first)
    assert_no_widget_errors(page_errors)
