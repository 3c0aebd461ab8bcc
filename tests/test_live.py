"""process_video.py --live: the settings a page may send, the server as users run it, and the
page in a real headless browser (Debian's chromium through Selenium)."""
import json
import math
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import imageio_ffmpeg
import numpy as np
import pytest

from benchmarks.live_harness import (
    LiveServer,
    chromium,
    find_chromium,
    free_port,
    page_stats,
    wait_until,
)
from helpers import REPO, make_clip, probe, read_all, run_main, run_script
from vae.live import session
from vae.live.server import IDLE_TIMEOUT
from vae.stylize.settings import StyleSettings


def request(url, body=None, content_type="application/json", headers=None, method=None):
    """(status, JSON reply) of a GET, or of a POST when body is given (bytes or an object)."""
    data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={**({"Content-Type": content_type} if data else {}),
                                          **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=30) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def raw_connection(port):
    return socket.create_connection(("127.0.0.1", port), timeout=30)


def websocket_request(port, origin):
    return (f"GET /frames HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            f"Sec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n").encode()


def reply_line(connection, data):
    """Send raw bytes; the first line of the reply."""
    connection.sendall(data)
    return connection.recv(4096).split(b"\r\n")[0]


def handshake(port, origin):
    with raw_connection(port) as connection:
        return reply_line(connection, websocket_request(port, origin))


SETTINGS = StyleSettings()
BAD_CHANGES = [
    ({"alpha": math.nan}, "alpha must be a number in"),
    ({"alpha": math.inf}, "alpha must be a number in"),
    ({"alpha": "0.5"}, "alpha must be a number"),
    ({"beta": 2.5}, "beta must be a number in [0, 2]"),
    ({"detail": -0.1}, "detail must be a number in [0, 1]"),
    ({"smoothing": 1}, "smoothing must be a number in [0, 0.95]"),
    ({"paint": 1.5}, "paint must be a number in [0, 1]"),
    ({"alpha": True}, "alpha must be a number"),
    ({"style": "../../etc/passwd"}, "style must be one of"),
    ({"refine": "yes"}, "refine must be true or false"),
    ({"output": "/tmp/x.mp4"}, "unknown setting 'output'"),
    ({"beta": 1.0, "detail": 7}, "detail must be"),  # one bad value: nothing changes
    ([1, 2], "expected a JSON object"),
]


@pytest.mark.parametrize("changes,message", BAD_CHANGES)
def test_settings_refuse_bad_values(changes, message):
    with pytest.raises(ValueError) as err:
        SETTINGS.changed(changes, styles=["paintings"])
    assert message in str(err.value)


def test_settings_accept_values_in_range():
    changed = SETTINGS.changed({"alpha": 0, "beta": 2, "detail": 1, "smoothing": 0.95,
                                "paint": 1, "style": "paintings", "refine": False},
                               styles=["paintings"])
    assert changed == StyleSettings(alpha=0.0, beta=2.0, detail=1.0, smoothing=0.95, paint=1.0,
                                    style="paintings", source="auto", refine=False)
    assert SETTINGS.changed({"style": ""}, ["paintings"]).style is None
    assert SETTINGS.changed({}, ["paintings"]) == SETTINGS


def test_preview_size_keeps_aspect_and_never_upscales():
    assert session.preview_size(1280, 720, 72) == (256, 144)
    assert session.preview_size(64, 36, 72) == (64, 36)
    assert session.preview_size(1000, 500, 90) == (360, 180)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """4 s at 10 frames/s, 96x54, with audio."""
    return make_clip(tmp_path_factory.mktemp("live") / "clip.mp4", 96, 54, seconds=4, rate=10,
                     audio=True)


def test_server_validates_every_request(runs, clip, tmp_path):
    """Bad values get a 400 and change nothing; only JSON from the page's own origin and host
    is taken; slow or unfinished requests are closed; the page loads nothing from outside."""
    with LiveServer(clip, "--model", runs["bundle"], "-o", tmp_path / "out.mp4") as server:
        # headers that never end: the connection is closed once IDLE_TIMEOUT has passed
        half_sent = raw_connection(server.port)
        half_sent.sendall(f"GET /state HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n".encode())
        opened = time.monotonic()
        status, state = request(server.url + "/state")
        assert status == 200 and state["version"] == 0 and state["render"]["available"]
        # the bundle has the brush: the paint slider starts at the default blend
        assert "paint" in state["ranges"] and state["settings"]["paint"] == 1
        for changes, message in BAD_CHANGES + [
                ({"painter": "trained"}, "unknown setting 'painter'")]:
            status, reply = request(server.url + "/settings", changes)
            assert status == 400 and message in reply["error"], (changes, reply)
        raw = [(b'{"alpha": NaN}', "alpha must be a number in"),
               (b'{"beta": Infinity}', "beta must be a number in"),
               (b'{"beta": ', "invalid JSON"),
               (b'{"alpha": 1e400}', "alpha must be a number in"),  # inf
               (b'{"alpha": 1' + b"0" * 400 + b"}", "alpha must be a number in"),  # huge int
               (b"[" * 20000 + b"]" * 20000, "nested too deeply")]
        for body, message in raw:
            status, reply = request(server.url + "/settings", body)
            assert status == 400 and message in reply["error"], (body, reply)
        for encoding in ("deflate", "gzip", "br"):  # bodies that do not decode: a 400 each
            with raw_connection(server.port) as connection:
                status_line = reply_line(connection, (
                    f"POST /settings HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                    "Content-Type: application/json\r\nContent-Length: 9\r\n"
                    f"Content-Encoding: {encoding}\r\n\r\n").encode() + b"\x78\x9c broken")
            assert re.match(rb"HTTP/1\.[01] 400", status_line), (encoding, status_line)
        for body, content_type in [(b'{"beta": "\xff"}', "application/json"),
                                   (b'{"beta": 1.5}', "application/json; charset=klingon"),
                                   (b'{"beta": 1.5}', "application/json; charset=utf-32")]:
            status, reply = request(server.url + "/settings", body, content_type=content_type)
            assert status == 400 and "not text in charset" in reply["error"], (body, reply)
        with raw_connection(server.port) as connection:  # absolute-form, for this very server
            status_line = reply_line(connection, (
                f"GET http://127.0.0.1:{server.port}/state HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{server.port}\r\n\r\n").encode())
            assert status_line.startswith(b"HTTP/1.1 200"), status_line
        for garbage in (b"\x00\x01\x02 nonsense\r\n\r\n", b"GET /state HTTP/9.9\r\n\r\n",
                        b"GET /state HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n"):
            with raw_connection(server.port) as connection:
                assert re.match(rb"HTTP/1\.[01] 4\d\d", reply_line(connection, garbage))
        status, _ = request(server.url + "/settings", b"beta=1.5",
                            content_type="application/x-www-form-urlencoded")
        assert status == 415
        status, _ = request(server.url + "/settings", {"beta": 1.5},
                            headers={"Origin": "http://evil.example"})
        assert status == 403
        status, _ = request(server.url + "/state", headers={"Host": f"evil.example:{server.port}"})
        assert status == 403
        assert request(server.url + "/state")[1]["settings"] == state["settings"]
        # the frames' websocket: another site's page cannot open it; the page's own can, up to
        # a bound; a body that never arrives is answered 408
        assert handshake(server.port, "http://evil.example").startswith(b"HTTP/1.1 403")
        own = [raw_connection(server.port) for _ in range(8)]
        for connection in own:
            assert reply_line(connection, websocket_request(
                server.port, f"http://127.0.0.1:{server.port}")).startswith(b"HTTP/1.1 101")
        assert handshake(server.port, f"http://127.0.0.1:{server.port}").startswith(
            b"HTTP/1.1 503")
        for connection in own:
            connection.close()
        with raw_connection(server.port) as connection:
            status_line = reply_line(connection, (
                f"POST /settings HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{}").encode())
            assert status_line.startswith(b"HTTP/1.1 408"), status_line
        assert half_sent.recv(4096) == b""  # closed, no reply
        assert IDLE_TIMEOUT - 1 < time.monotonic() - opened < IDLE_TIMEOUT + 10
        half_sent.close()

        status, reply = request(server.url + "/settings", {"beta": 1.5, "refine": False})
        assert status == 200 and reply["version"] == 1
        assert "--beta 1.5" in reply["command"] and "--no-refine" in reply["command"]
        assert f"-o {tmp_path / 'out.mp4'}" in reply["command"]

        with urllib.request.urlopen(server.url + "/", timeout=30) as page:
            html = page.read().decode()
        assert "<canvas" in html and "/frames" in html
        for outside in ("http://", "https://", "src=\"//", "@import", "url("):
            assert outside not in html
    assert server.process.returncode == 0 and "stopped" in server.lines[-1]
    assert not [line for line in server.lines if "Traceback" in line], server.lines


def test_port_in_use_and_bad_flags_exit_2(runs, clip):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_script("process_video.py", clip, "--live", "--port", port,
                            "--model", runs["bundle"])
    assert result.returncode == 2, result.stderr
    assert f"error: port {port} on 127.0.0.1 is in use" in result.stderr
    assert "Traceback" not in result.stderr
    cases = [(["--live", "--port", "70000"], "expected a port number"),
             (["--port", "8001"], "--port and --host go with --live"),
             (["--live", "--beta", "3", "--port", free_port()], "beta must be a number in [0, 2]"),
             (["--live", "--style", "nonexistent", "--port", free_port()], "no source named"),
             (["--live", "--crop", "30,50,30,50", "--port", free_port()],
              "leaves no picture")]
    for args, message in cases:
        result = run_main("process_video.py", clip, "--model", runs["bundle"], *args)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
    result = run_main("process_video.py", clip + ".missing", "--model", runs["bundle"], "--live",
                      "--port", free_port())
    assert result.returncode == 2 and "error: video not found" in result.stderr


def test_ctrl_c_during_a_render_leaves_no_file(runs, tmp_path):
    long_clip = make_clip(tmp_path / "long.mp4", 320, 180, seconds=40, rate=25, audio=True)
    output = tmp_path / "out" / "render.mp4"
    output.parent.mkdir()
    with LiveServer(long_clip, "--model", runs["bundle"], "-o", output) as server:
        status, reply = request(server.url + "/render", {})
        assert status == 202 and reply["state"] == "running"
        status, _ = request(server.url + "/render", {})
        assert status == 409  # one render at a time
        wait_until(lambda: request(server.url + "/state")[1]["render"]["done"] > 0, 120,
                   what="render progress")
        code = server.stop(signal.SIGINT)
    assert code == 130, server.lines
    assert "no output written" in server.lines[-1]
    assert os.listdir(output.parent) == []


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_stream_input_plays_without_render(runs, tmp_path):
    """A stream (here an MPEG-TS clip served over HTTP on 127.0.0.1) plays; Render says no.
    --host other than 127.0.0.1 prints a warning."""
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi",
                    "-i", "testsrc2=size=96x54:rate=10:duration=30", "-c:v", "libx264",
                    "-f", "mpegts", str(tmp_path / "stream.ts")], check=True)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=tmp_path))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/stream.ts"
    try:
        with LiveServer(url, "--model", runs["bundle"], "--host", "127.0.0.2") as server:
            server.url = server.url.replace("127.0.0.1", "127.0.0.2")
            assert any(line.startswith("warning: --host 127.0.0.2") for line in server.lines)
            state = wait_until(lambda: (lambda s: s if s["fps"] > 0 else None)(
                request(server.url + "/state")[1]), 60, what="stream frames")
            assert not state["render"]["available"]
            assert "camera or stream" in state["render"]["why_not"]
            status, reply = request(server.url + "/render", {})
            assert status == 409 and "camera or stream" in reply["error"]
    finally:
        httpd.shutdown()


def canvas_pixels(driver, canvas):
    """The canvas's RGBA pixels as a flat list."""
    return np.array(driver.execute_script(
        "const c = document.getElementById(arguments[0]);"
        "return Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data);",
        canvas), np.float32)


def fetch_status(driver, body):
    """The HTTP status of a POST /settings the page's own script sends with this raw body."""
    return driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch('/settings', {method: 'POST', headers: {'Content-Type': 'application/json'},"
        " body: arguments[0]}).then(r => done(r.status));", body)


@pytest.fixture(scope="module")
def browser():
    if find_chromium() is None:
        if os.environ.get("CI"):
            pytest.fail("chromium and chromedriver are missing: .ci/run installs them "
                        "(make browser)")
        pytest.skip("chromium and chromedriver are not installed (run 'sudo make browser')")
    driver = chromium()
    yield driver
    driver.quit()


@pytest.mark.slow
def test_page_in_a_real_browser(runs, clip, browser, tmp_path):
    """Frames arrive; the beta slider changes the stylised picture; Render writes the clip as
    the command the page shows would; a bad value gets a 400."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    output = tmp_path / "rendered.mp4"
    # no smoothing and no brush: a held frame's picture depends on the settings alone
    with LiveServer(clip, "--model", runs["bundle"], "-o", output, "--smoothing", "0",
                    "--paint", "0") as server:
        browser.get(server.url + "/")
        wait_until(lambda: page_stats(browser)["frames"] >= 5, 60, what="frames in the page")
        assert canvas_pixels(browser, "outputView").std() > 1  # a picture, not a blank canvas

        browser.find_element(By.ID, "pause").click()
        wait_until(lambda: request(server.url + "/state")[1]["paused"], 10, what="pause")
        counts = []  # paused: no new frame until a setting changes
        wait_until(lambda: counts.append(page_stats(browser)["frames"]) or
                   counts[-5:] == [counts[-1]] * 5, 10, interval=0.2, what="no new frames")
        before_in, before_out = (canvas_pixels(browser, "inputView"),
                                 canvas_pixels(browser, "outputView"))
        browser.find_element(By.ID, "beta").send_keys(*[Keys.ARROW_RIGHT] * 30)  # 0.8 -> 2
        state = wait_until(lambda: (lambda s: s if s["settings"]["beta"] == 2
                                    else None)(request(server.url + "/state")[1]), 30,
                           what="beta 2 on the server")
        wait_until(lambda: page_stats(browser)["version"] == state["version"], 30,
                   what="the change shown")
        assert page_stats(browser)["latencyMs"] > 0
        after_in, after_out = (canvas_pixels(browser, "inputView"),
                               canvas_pixels(browser, "outputView"))
        assert np.array_equal(after_in, before_in)  # paused: the same input frame
        assert np.abs(after_out - before_out).mean() > 0.3  # about 1.5 with the tiny model
        command = browser.find_element(By.ID, "command").text
        assert "--beta 2.0" in command and "--smoothing 0.0" in command
        # Back to beta 0.8: the picture from before, so the change above was beta's alone.
        browser.find_element(By.ID, "beta").send_keys(*[Keys.ARROW_LEFT] * 24)
        wait_until(lambda: request(server.url + "/state")[1]["settings"]["beta"] == 0.8, 30,
                   what="beta 0.8 on the server")
        wait_until(lambda: page_stats(browser)["version"] ==
                   request(server.url + "/state")[1]["version"], 30, what="the change shown")
        assert np.abs(canvas_pixels(browser, "outputView") - before_out).mean() < 0.05
        browser.find_element(By.ID, "alpha").send_keys(*[Keys.ARROW_LEFT] * 6)  # 1 -> 0.7
        wait_until(lambda: "--alpha 0.7 --beta 0.8" in
                   browser.find_element(By.ID, "command").text, 30, what="alpha 0.7")
        command = browser.find_element(By.ID, "command").text

        assert fetch_status(browser, '{"alpha": NaN}') == 400
        assert fetch_status(browser, '{"beta": 99}') == 400
        assert request(server.url + "/state")[1]["settings"]["beta"] == 0.8  # unchanged

        browser.find_element(By.ID, "render").click()
        wait_until(lambda: browser.find_element(By.ID, "renderStatus")
                   .get_attribute("data-state") == "done", 120, what="the render")
        status = browser.find_element(By.ID, "renderStatus").text
        assert f"wrote {output}" in status
    assert probe(str(output))[:4] == (40, 96, 54, True)

    # The command the page showed writes the same frames.
    words = shlex.split(command)
    assert words[:2] == ["python", "process_video.py"]
    again = tmp_path / "again.mp4"
    words[words.index("-o") + 1] = str(again)
    result = subprocess.run([sys.executable, os.path.join(REPO, "process_video.py"),
                             *words[2:]], capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=REPO), timeout=300)
    assert result.returncode == 0, result.stderr
    assert np.array_equal(read_all(again), read_all(output))
