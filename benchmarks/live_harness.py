"""Driving `process_video.py --live` as a user does: the server as a subprocess, the page in
Debian's headless Chromium through Selenium and its chromedriver (no browser download).
Shared by tests/test_live.py and benchmarks/bench_live.py."""
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CHROMIUM = ("chromium", "chromium-browser")


def free_port():
    """A TCP port nothing listens on now, on 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LiveServer:
    """`process_video.py INPUT --live --port P ARGS...` in a subprocess; the `with` block starts
    it, waits for its "live page:" line, and stops it with Ctrl-C (SIGINT) at the end.
    lines: everything it printed so far (stdout and stderr)."""

    def __init__(self, *args, cwd=None, port=None, startup=180):
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.command = [sys.executable, os.path.join(REPO, "process_video.py"), *map(str, args),
                        "--live", "--port", str(self.port)]
        self.cwd, self.startup = cwd or REPO, startup
        self.lines, self._queue, self.process = [], queue.Queue(), None

    def __enter__(self):
        env = dict(os.environ, PYTHONPATH=REPO, PYTHONUNBUFFERED="1")
        self.process = subprocess.Popen(self.command, cwd=self.cwd, env=env, text=True,
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        threading.Thread(target=self._read, daemon=True).start()
        self.wait_for("live page:", self.startup)
        return self

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            self._queue.put(line)
        self._queue.put(None)

    def wait_for(self, text, timeout):
        """Block until a printed line contains text; RuntimeError (with the output) if the
        server exits or the time runs out first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self._queue.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                raise RuntimeError("the live server exited:\n" + "\n".join(self.lines))
            if text in line:
                return line
        raise RuntimeError(f"no {text!r} within {timeout} s:\n" + "\n".join(self.lines))

    def stop(self, signum=signal.SIGINT, timeout=90):
        """Send signum (Ctrl-C by default) and return the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            if self.process.poll() is None:
                self.process.kill()

    def __exit__(self, *_):
        self.stop()


def find_chromium():
    """(chromium, chromedriver) paths, or None when either is missing (`make browser`)."""
    browser = next((shutil.which(name) for name in CHROMIUM if shutil.which(name)), None)
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def chromium(width=1280, height=900):
    """A headless Chromium under Selenium, using the installed browser and driver."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver = find_chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 f"--window-size={width},{height}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(driver), options=options)


def page_stats(driver):
    """window.live of the page: frames shown, settings version shown, fps, latencyMs."""
    return driver.execute_script("return window.live")


def wait_until(predicate, timeout, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"{what} not met within {timeout} s")
