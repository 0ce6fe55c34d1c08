"""Local files as remix sources: ``client.upload`` -> ``POST /api/v1/files`` -> a temporary URL on
the image origin, usable in ``source_image_urls``; the simulator's route; the Studio's Upload button.
All over real HTTP against the simulator."""

from __future__ import annotations

import asyncio
import base64
import io
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from conftest import SECRET_KEY, run_studio, until
from PIL import Image, ImageStat

from flux2_widgets import AsyncFlux2Client, Flux2Client, errors
from flux2_widgets.catalog import ASPECT_RATIOS, FILES_PATH, MAX_UPLOAD_BYTES, pixel_size
from flux2_widgets.simulator._engine import nearest_ratio
from flux2_widgets.widgets import Studio

AUTH = {"Authorization": "Bearer sk-test"}


def image_bytes(size: tuple[int, int] = (64, 48), color: tuple[int, int, int] = (200, 30, 30),
                fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, fmt)
    return buf.getvalue()


def fast(sim, **options) -> AsyncFlux2Client:
    options.setdefault("retry_base_delay", 0.01)
    return AsyncFlux2Client(SECRET_KEY, base_url=sim.url, **options)


def post_file(sim, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(sim.url + FILES_PATH, json=body, headers=AUTH if headers is None else headers,
                      timeout=30)


def channel_means(data: bytes) -> list[float]:
    with Image.open(io.BytesIO(data)) as img:
        return ImageStat.Stat(img.convert("RGB")).mean


# -- client ------------------------------------------------------------------------------------------
def test_upload_round_trip_bytes_and_path(sim, client, tmp_path):
    png = image_bytes()
    url = client.upload(png, filename="red square.png")
    assert url.startswith(sim.cdn_url + "/files/") and url.endswith("/red_square.png")
    assert client.download(url) == png

    jpeg = tmp_path / "photo.jpg"
    jpeg.write_bytes(image_bytes(fmt="JPEG"))
    url2 = client.upload(jpeg)
    assert url2.startswith(sim.cdn_url) and url2.endswith("/photo.jpg") and url2 != url
    answer = httpx.get(url2)
    assert answer.content == jpeg.read_bytes() and answer.headers["content-type"] == "image/jpeg"

    assert sim.count("POST", FILES_PATH) == 2 and sim.stats.uploads == 2
    assert sim.stats.cdn_authorization == []  # the key never went to the file host
    assert SECRET_KEY not in url + url2


def test_upload_is_retried_with_one_idempotency_key(sim):
    async def main() -> tuple[str, str]:
        async with fast(sim) as c:
            sim.inject("500")
            first = await c.upload(image_bytes())
            # The first POST is stored, then its answer is lost: the retry must get the same file.
            sim.inject("drop", on="post", after=True)
            second = await c.upload(image_bytes(color=(0, 0, 255)))
            return first, second

    first, second = asyncio.run(main())
    assert sim.count("POST", FILES_PATH) == 4
    assert sim.stats.uploads == 2 and first != second
    assert channel_means(httpx.get(second).content)[2] > 200


@pytest.mark.parametrize("case", ["missing", "folder", "text", "gif", "empty", "url", "too_large_path",
                                  "too_large_bytes"])
def test_invalid_uploads_send_nothing(sim, client, tmp_path, case):
    needle = {"missing": "does not exist", "folder": "is a folder", "text": "not an image",
              "gif": "is a GIF image", "empty": "is empty", "url": "already a URL",
              "too_large_path": "at most 20.0 MB", "too_large_bytes": "at most 20.0 MB"}[case]
    if case == "missing":
        file: Any = tmp_path / "nope.png"
    elif case == "folder":
        file = tmp_path
    elif case == "text":
        file = tmp_path / "notes.png"
        file.write_text("not a picture")
    elif case == "gif":
        file = image_bytes(fmt="GIF")
    elif case == "empty":
        file = b""
    elif case == "url":
        file = "https://example.com/cat.png"
    elif case == "too_large_path":
        file = tmp_path / "huge.png"
        with file.open("wb") as f:  # sparse: the size check must not need the content
            f.truncate(MAX_UPLOAD_BYTES + 1)
    else:
        file = image_bytes() + bytes(MAX_UPLOAD_BYTES)
    with pytest.raises(errors.ValidationError) as info:
        client.upload(file)
    assert needle in str(info.value) and info.value.field == "file"
    assert sim.count() == 0


def test_upload_error_names_the_file(sim, client):
    with pytest.raises(errors.ValidationError, match=r"'notes\.txt' is not an image"):
        client.upload(b"plain text", filename="notes.txt")
    assert sim.count() == 0


# -- simulator route -----------------------------------------------------------------------------------
def test_files_route_answers_the_upload_response_shape(sim):
    png = image_bytes((30, 20))
    answer = post_file(sim, {"source": {"type": "base64", "data": base64.b64encode(png).decode()},
                             "file_name": "../../etc/pass wd.png"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"file_name", "url", "size_bytes", "mime_type", "created_at", "expires_at"}
    assert body["file_name"] == "pass_wd.png" and body["size_bytes"] == len(png)
    assert body["mime_type"] == "image/png" and body["url"].startswith(sim.cdn_url + "/files/")
    created, expires = (datetime.fromisoformat(body[k].replace("Z", "+00:00"))
                        for k in ("created_at", "expires_at"))
    assert abs(created - datetime.now(timezone.utc)) < timedelta(minutes=1)
    assert expires - created == timedelta(days=7)
    assert httpx.get(body["url"]).content == png
    assert httpx.get(body["url"].rsplit("/", 1)[0] + "/other.png").status_code == 404


@pytest.mark.parametrize("case", ["no_auth", "not_json", "no_source", "url_source", "bad_base64",
                                  "not_image", "too_large", "body_too_large"])
def test_files_route_rejects_bad_input(sim, case):
    b64 = base64.b64encode
    status, code, field = 422, "validation_error", "source.data"
    if case == "no_auth":
        answer = post_file(sim, {"source": {"type": "base64", "data": "aGk="}}, headers={})
        status, code, field = 401, "unauthorized", None
    elif case == "not_json":
        answer = httpx.post(sim.url + FILES_PATH, content=b"{nope", headers=AUTH)
        status, code, field = 400, "bad_request", None
    elif case == "no_source":
        answer = post_file(sim, {"file_name": "x.png"})
        field = "source"
    elif case == "url_source":
        answer = post_file(sim, {"source": {"type": "url", "url": "https://example.com/a.png"}})
        field = "source.type"
    elif case == "bad_base64":
        answer = post_file(sim, {"source": {"type": "base64", "data": "@@not base64@@"}})
    elif case == "not_image":
        answer = post_file(sim, {"source": {"type": "base64", "data": b64(b"hello there").decode()}})
        code = "unsupported_file_type"
    elif case == "too_large":
        answer = post_file(sim, {"source": {"type": "base64",
                                            "data": b64(bytes(MAX_UPLOAD_BYTES + 1)).decode()}})
        code = "file_too_large"
    else:
        answer = httpx.post(sim.url + FILES_PATH, content=b"x" * (MAX_UPLOAD_BYTES * 2), headers=AUTH,
                            timeout=30)
        code = "file_too_large"
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == code and error["message"]
    assert error.get("field") == field
    assert sim.stats.uploads == 0


def test_official_sdk_uploads_to_the_simulator(sim):
    from runapi.core.files import FilesClient

    png = image_bytes()
    files = FilesClient(api_key="sk-test", base_url=sim.url)
    uploaded = files.create(source=base64.b64encode(png).decode(), file_name="sdk.png")
    assert uploaded.url.startswith(sim.cdn_url) and uploaded.size_bytes == len(png)
    assert uploaded.mime_type == "image/png" and httpx.get(uploaded.url).content == png


# -- remix from an upload -----------------------------------------------------------------------------
@pytest.mark.parametrize(("size", "ratio"), [((1600, 900), "16:9"), ((900, 1600), "9:16"),
                                             ((1000, 1000), "1:1"), ((1500, 1000), "3:2"),
                                             ((1210, 1000), "4:3"), ((5000, 100), "16:9")])
def test_nearest_ratio_comes_from_the_catalog(size, ratio):
    assert ratio in ASPECT_RATIOS and nearest_ratio(size) == ratio


def test_remix_derives_from_the_uploaded_image(sim, client):
    red = client.upload(image_bytes((1600, 900), (220, 20, 20)), filename="red.png")
    blue = client.upload(image_bytes((900, 1600), (20, 20, 220)), filename="blue.png")
    prompt = "the same scene, as a watercolour"
    from_red = client.generate(prompt, source_image_urls=[red], aspect_ratio="auto")
    from_blue = client.generate(prompt, source_image_urls=[blue], aspect_ratio="auto")
    # auto follows the upload's own shape
    assert from_red.images[0].size == pixel_size("16:9", "1k")
    assert from_blue.images[0].size == pixel_size("9:16", "1k")
    assert from_red.request.source_image_urls == (red,)
    r_red, _, b_red = channel_means(from_red.images[0].data)
    r_blue, _, b_blue = channel_means(from_blue.images[0].data)
    assert r_red > r_blue + 30 and b_blue > b_red + 30, (r_red, b_red, r_blue, b_blue)
    # The remix needs no second request to the file: the simulator decoded it at upload.
    assert sim.count("GET", "/files", origin="cdn") == 0


def test_auto_ratio_follows_a_phone_photo_upright(sim, client):
    sideways = Image.new("RGB", (1600, 900), (20, 160, 40))
    exif = sideways.getexif()
    exif[0x0112] = 6  # stored landscape, shown portrait
    buf = io.BytesIO()
    sideways.save(buf, "JPEG", exif=exif)
    url = client.upload(buf.getvalue(), filename="phone.jpg")
    gen = client.generate("a portrait, remixed", source_image_urls=[url], aspect_ratio="auto")
    assert gen.images[0].size == pixel_size("9:16", "1k")


# -- Studio ---------------------------------------------------------------------------------------------
def chosen(name: str, content: bytes, kind: str = "image/png") -> dict[str, Any]:
    """One entry of ``FileUpload.value`` as ipywidgets 8 delivers it from the browser."""
    return {"name": name, "type": kind, "size": len(content), "content": memoryview(content),
            "last_modified": datetime.now(timezone.utc)}


def test_studio_uploads_local_files_as_sources_then_remixes(sim):
    async def body(studio: Studio) -> None:
        assert studio.upload_input.disabled  # text-to-image: sources do not apply
        studio.mode = "remix_image"
        assert not studio.upload_input.disabled
        assert "RunAPI's file storage (temporary URL" in studio.fields["source_image_urls"].note_text
        studio.prompt = "the same street, at night"
        studio.aspect_ratio = "auto"
        studio.upload_input.value = (chosen("wide street.png", image_bytes((1600, 900))),
                                     chosen("notes.txt", b"not an image", "text/plain"))
        # Control comes back at once; the upload runs as a task, and the bytes left widget state.
        assert studio.uploads and studio.upload_input.value == ()
        assert "Uploading" in studio.fields["source_image_urls"].note_text
        await until(lambda: studio.sources and not studio.uploads, what="the uploaded URL")
        (url,) = studio.sources
        assert url.startswith(sim.cdn_url + "/files/") and url.endswith("/wide_street.png")
        note = studio.fields["source_image_urls"].note_text
        assert "Uploaded 1 file to the simulator's file storage (temporary URL," in note
        assert "⚠ 'notes.txt' is not an image" in note
        assert sim.count("POST", FILES_PATH) == 1  # the text file never left the kernel

        (tile,) = studio.generate()
        await until(lambda: tile.done, what="remix tile")
        assert tile.status == "completed", tile.error
        assert tile.request.source_image_urls == (url,)
        assert tile.generation.images[0].size == pixel_size("16:9", "1k")

    run_studio(sim, body)


def test_studio_upload_errors_show_in_the_sources_note(sim):
    async def body(studio: Studio) -> None:
        studio.mode = "remix_image"
        sim.inject("500", times=10)  # more than the client retries
        studio.upload_input.value = (chosen("a.png", image_bytes()),)
        await until(lambda: not studio.uploads, what="the upload to end")
        note = studio.fields["source_image_urls"].note_text
        assert "⚠ a.png:" in note and "500" in note and studio.sources == ()
        assert SECRET_KEY not in note

    run_studio(sim, body)


def test_sync_client_upload_inside_a_running_loop(sim):
    async def main() -> str:
        with Flux2Client(api_key=SECRET_KEY, base_url=sim.url) as c:
            return c.upload(image_bytes())

    assert asyncio.run(main()).startswith(sim.cdn_url)
