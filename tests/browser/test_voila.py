"""Voila: the Studio and a comparison served as an app (code hidden, widgets live)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from ._jupyter import (
    IMAGE_TIMEOUT,
    KERNEL_TIMEOUT,
    assert_no_widget_errors,
    button,
    screenshot,
    scroll_into_view,
    visible_images,
    write_notebook,
)
from .conftest import client_cell

pytestmark = pytest.mark.browser


def test_voila_app_buttons(page: Any, voila_server: Any, fresh_sim: Any, output_dir: Path,
                           page_errors: list[str]) -> None:
    name = write_notebook(voila_server.root_dir, "app.ipynb", [
        client_cell(fresh_sim, "results-voila"),
        "studio = Studio(client, prompt='a red fox in fresh snow', save_dir='results-voila')\nstudio",
        "cmp = compare_tiers('a lighthouse at dawn', client=client)\ncmp",
    ])
    page.goto(voila_server.render_url(name), wait_until="domcontentloaded")
    studio = page.locator(".f2w-studio").first
    studio.wait_for(state="visible", timeout=KERNEL_TIMEOUT * 1000)
    # Voila shows outputs only: no code, and the static twin stays hidden beside the live view.
    assert page.get_by_text("Flux2Client(api_key=").count() == 0
    view = page.locator(".f2w-cmp").first
    view.wait_for(state="visible")
    assert not page.locator(".f2w-static").first.is_visible()

    button(studio, "Generate").click()
    assert visible_images(studio.locator(".f2w-gallery"), IMAGE_TIMEOUT) == 1
    tile = studio.locator(".f2w-tile--completed").first
    with page.expect_download() as info:  # one click, a named file
        tile.locator(".f2w-download-btn").click()
    assert Path(info.value.path()).read_bytes()[:4] == b"\x89PNG"
    assert info.value.suggested_filename.endswith("_pro_1k.png")
    screenshot(page, output_dir, "voila-studio", studio)

    scroll_into_view(view)
    assert visible_images(view, IMAGE_TIMEOUT, minimum=2) == 2
    button(view, "Flex wins").click()
    view.get_by_text(re.compile(r"votes Pro: 0 · Flex: 1 · tie: 0")).wait_for(state="visible")
    screenshot(page, output_dir, "voila-compare", view)

    errors = page.locator(".f2w-test-errors")
    assert errors.count() == 1, "the recorder's output is part of the app page"
    text = errors.inner_text()
    assert text.startswith("python errors: 0"), text[:3000]
    assert page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']").count() == 0
    assert_no_widget_errors(page_errors)
