"""The scene-graph editor: its JSON API (every error case, concurrent requests) and the page in a real browser
(Debian's chromium driven by Playwright), against the real server (`python -m sg2im.serve`) running a small
Visual Genome model that the test trains on the embedded data. Screenshots of every step go to the test's
temporary folder."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from helpers_data import embedded_data
from helpers_mlflow import free_port
from helpers_train import stage_env

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
BROWSER_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run", "--disable-quic"]
SHEEP = {"objects": ["sheep", "grass", "sky"], "relationships": [[0, "standing on", 1], [2, "above", 1]]}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A VG model trained for a few iterations on the embedded data, served by the editor's command."""
    root = tmp_path_factory.mktemp("editor")
    params = embedded_data(root)
    train = subprocess.run([sys.executable, str(REPO / "stages/train.py"), "--params", str(params), "--section",
                            "train_vg", "--output_dir", str(root / "model"), "--num_iterations", "6", "--track", "0",
                            "--metrics_json", str(root / "model/train.json"), "--plots_dir", str(root / "model")],
                           cwd=root, env=stage_env(root), capture_output=True, text=True, timeout=300)
    assert train.returncode == 0, train.stderr[-2000:]
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "sg2im.serve", "--checkpoint",
                             str(root / "model/checkpoint_with_model.pt"), "--port", str(port), "--figures",
                             str(REPO / "scene_graphs"), "--concurrency", "2", "--params", str(params)],
                            cwd=root, env=stage_env(root), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/health", timeout=2)
            break
        except OSError:
            assert proc.poll() is None and time.time() < deadline, proc.stdout.read() if proc.poll() is not None else "timeout"
            time.sleep(0.3)
    yield {"url": url, "proc": proc}
    proc.terminate()
    out = proc.communicate(timeout=20)[0]
    assert f"open {url}/" in out  # the command printed where the editor is


def post(url: str, body: bytes | dict) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(f"{url}/api/generate", data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def get(url: str, path: str) -> dict:
    with urllib.request.urlopen(f"{url}{path}", timeout=10) as response:
        return json.loads(response.read())


def test_the_api_generates_and_is_reproducible(server):
    url = server["url"]
    vocab = get(url, "/api/vocab")
    assert {"sheep", "grass", "sky"} <= set(vocab["objects"]) and "standing on" in vocab["predicates"]
    assert vocab["max_objects"] == 9 and vocab["image_size"] == [16, 16]  # tiny VG: 10 objects incl. __image__
    status, first = post(url, {**SHEEP, "seed": 3})
    assert status == 200 and first["image"].startswith("data:image/png;base64,") and not first["layout_given"]
    assert len(first["boxes"]) == 3 and len(first["masks"]) == 3 and len(first["masks"][0]) == 8  # mask size 8
    assert "<svg" in first["graph_svg"]
    assert post(url, {**SHEEP, "seed": 3})[1]["image"] == first["image"]  # the same seed, the same image
    assert post(url, {**SHEEP, "seed": 4})[1]["image"] != first["image"]
    boxes = [[0.1, 0.5, 0.4, 0.9], [0.0, 0.6, 1.0, 1.0], [0.0, 0.0, 1.0, 0.5]]
    status, mine = post(url, {**SHEEP, "boxes": boxes, "seed": 3})
    assert status == 200 and mine["layout_given"] and mine["boxes"] == boxes and mine["image"] != first["image"]
    assert set(get(url, "/api/figures")) >= {"figure_6_sheep"}


ERRORS = [  # (request, status, field, words of the message)
    (b"{not json", 400, "body", "not JSON"),
    (b"[1, 2]", 400, "body", "JSON object"),
    ({"objects": ["shep", "grass"]}, 422, "objects[0]", "closest: 'sheep'"),
    ({"objects": ["sheep", "grass"], "relationships": [[0, "standing in", 1]]}, 422, "relationships[0]", "predicate"),
    ({"objects": ["sheep", "grass"], "relationships": [[0, "above", 5]]}, 422, "relationships[0]", "out of range"),
    ({"objects": ["sheep", "grass"], "relationships": [[0, "above", True]]}, 422, "relationships[0]", "integer index"),
    ({"objects": ["sheep", "__image__"]}, 422, "objects[1]", "reserved"),
    ({"objects": ["sheep", "grass"], "relationships": [[1, "above", 1]]}, 422, "relationships[0]", "itself"),
    ({"objects": []}, 422, "objects", "at least one object"),
    ({"objects": ["sheep"] * 10}, 422, "objects", "trained on images with at most 9"),
    ({"objects": ["sheep", "grass"], "boxes": [[0, 0, 1, 1]]}, 422, "boxes", "list of 2 boxes"),
    ({"objects": ["sheep", "grass"], "boxes": [[0, 0, 1, 1], [0.5, 0, 0.2, 1]]}, 422, "boxes[1]", "x0 < x1"),
    ({"objects": ["sheep"], "seed": "one"}, 422, "seed", "integer"),
    ({"objects": ["sheep"] * 9, "pad": "x" * 70_000}, 413, "body", "bytes"),
]


@pytest.mark.parametrize("request_, status, field, words", ERRORS, ids=[f"{e[1]}-{e[2]}" for e in ERRORS])
def test_each_bad_request_is_refused_with_the_field_named(server, request_, status, field, words):
    code, answer = post(server["url"], request_)
    assert (code, answer["field"]) == (status, field) and words in answer["error"], answer


def test_twenty_requests_at_once_are_all_answered_and_bounded(server):
    url = server["url"]
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda seed: post(url, {**SHEEP, "seed": seed}), range(20)))
    assert all(code == 200 for code, _ in answers) and len({a["image"] for _, a in answers}) > 1
    health = get(url, "/api/health")
    assert health["most_active"] <= health["concurrency"] == 2 and health["served"] >= 20
    assert get(url, "/api/vocab")["objects"]  # and the server still answers


def test_the_page_builds_a_graph_edits_the_layout_undoes_and_downloads(server, tmp_path):
    assert CHROMIUM, "Debian's chromium is not installed (make install does it: apt-get install chromium)"
    from playwright.sync_api import sync_playwright

    sent: list[dict] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS)
        page = browser.new_page(viewport={"width": 1600, "height": 900}, accept_downloads=True)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("request", lambda r: sent.append(json.loads(r.post_data)) if r.url.endswith("/api/generate") else None)
        page.goto(server["url"])

        def generated(previous: str | None = None) -> str:
            page.wait_for_function("(prev) => !window.sg2im.view.pending && document.body.dataset.generated "
                                   "&& document.body.dataset.generated !== prev", arg=previous, timeout=30_000)
            return page.evaluate("document.body.dataset.generated")

        for name in ("sheep", "grass", "sky"):
            page.fill("#object-name", name)
            page.press("#object-name", "Enter")
        for s, predicate, o in ((0, "standing on", 1), (2, "above", 1)):
            page.select_option("#rel-subject", str(s))
            page.fill("#rel-predicate", predicate)
            page.select_option("#rel-object", str(o))
            page.click("#add-relationship button")
        page.wait_for_function("window.sg2im.state.relationships.length === 2")
        mark = generated()
        page.wait_for_function("window.sg2im.view.last && window.sg2im.view.last.boxes.length === 3")
        page.screenshot(path=str(tmp_path / "1_built.png"))
        boxes = page.locator("#layout .box")
        assert boxes.count() == 3 and sorted(boxes.evaluate_all("els => els.map(e => e.dataset.name)")) == [
            "grass", "sheep", "sky"]
        assert sorted(page.locator("#layout .box .label").all_inner_texts()) == ["grass", "sheep", "sky"]
        assert page.locator("#graph svg g.node").count() == 5  # 3 objects + 2 predicates, drawn by Graphviz
        before = page.get_attribute("#image", "src")

        sheep = page.locator('#layout .box[data-name="sheep"]').bounding_box()
        layout = page.locator("#layout").bounding_box()
        # a point of the sheep's box where it is on top (a tiny model's boxes overlap), away from its corner handle
        x, y = page.evaluate("""(r) => { for (let dy = 2; dy < r.height - 6; dy += 2) for (let dx = 1; dx < r.width - 6; dx += 2) {
            const el = document.elementFromPoint(r.x + dx, r.y + dy);
            if (el && !el.classList.contains('handle') && el.closest('.box') && el.closest('.box').dataset.name === 'sheep')
              return [r.x + dx, r.y + dy]; } return null; }""", sheep)
        target_x = layout["x"] + 40 if x > layout["x"] + 120 else layout["x"] + 200
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.move(target_x, y, steps=5)
        page.mouse.up()
        mark = generated(mark)
        assert sent[-1]["boxes"][0][0] == pytest.approx((target_x - layout["x"] - (x - sheep["x"])) / 384, abs=0.02)
        assert page.get_attribute("#image", "src") != before and "your layout" in page.inner_text("#status")
        page.screenshot(path=str(tmp_path / "2_dragged.png"))

        page.click("#undo")
        mark = generated(mark)
        assert "boxes" not in sent[-1] and "predicted layout" in page.inner_text("#status")
        assert page.get_attribute("#image", "src") == before  # the same graph, seed and layout: the same image
        page.screenshot(path=str(tmp_path / "3_undone.png"))

        with page.expect_download() as download:
            page.click("#download-graph")
        assert json.loads(Path(download.value.path()).read_text()) == SHEEP  # the original run_model.py format

        page.fill("#object-name", "shep")
        page.press("#object-name", "Enter")
        assert "not an object of this model's vocabulary" in page.inner_text("#object-error")
        assert "sheep" in page.locator("#object-error button").all_inner_texts()
        assert page.evaluate("window.sg2im.state.objects.length") == 3  # refused in place
        page.screenshot(path=str(tmp_path / "4_refused.png"))

        page.select_option("#figures", label=page.locator("#figures option", has_text="figure_6_sheep #2").inner_text())
        generated(mark)
        assert page.evaluate("window.sg2im.state.objects") == ["sky", "grass", "sheep"]
        page.screenshot(path=str(tmp_path / "5_paper_sheep.png"))
        browser.close()
    assert not errors, errors
