"""The live tuning page's web server (aiohttp): the page, its settings and Render over HTTP,
the preview's frames over a websocket.

Safe by default: it listens on 127.0.0.1; a request can change the settings, pause, and start
or cancel the one render whose output path came from the command line, nothing else. Every
POST must be JSON from the page's own origin (so another site open in the browser cannot
post to it), and on a loopback address the Host header must name it (DNS rebinding).

Routes: GET / (the page), GET /state, POST /settings, POST /playback, POST /render,
POST /render/cancel, GET /frames (websocket: one binary message per frame).
"""
import asyncio
import errno
import ipaddress
import json
import os
import signal
import socket
import struct
import threading
import time
from argparse import Namespace

from aiohttp import web

from vae import InputError
from vae.live import session

PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "page.html")
LOOPBACK_NAMES = ("localhost",)
NO_RENDER = "a camera or stream has no end: Render needs a video file"


class RenderCancelled(Exception):
    """Raised in render()'s progress callback to stop it; the writer then leaves no file."""


class RenderJob:
    """The page's Render: process_video.render on a thread with a snapshot of the settings,
    with the preview held meanwhile so that the render has the CPU."""

    def __init__(self, render, preview, bundle):
        self.render, self.preview, self.bundle = render, preview, bundle
        self.state, self.done, self.total, self.error, self.summary = "idle", 0, None, None, None
        self.args, self.started = None, None
        self._cancel = threading.Event()
        self._thread = None

    @property
    def running(self):
        return self._thread is not None and self._thread.is_alive()

    def start(self, args):
        self.args, self.total, self.done = args, None, 0
        self.state, self.error, self.summary = "running", None, None
        self.started = time.time()
        self._cancel.clear()
        self._thread = threading.Thread(target=self._run, daemon=True, name="render")
        self._thread.start()

    def _progress(self, count, total):
        if self._cancel.is_set():
            raise RenderCancelled()
        self.done, self.total = self.done + count, total

    def _run(self):
        try:
            with self.preview.hold():
                self.summary = self.render(self.args, self.bundle, progress=self._progress,
                                           report=lambda line: print(f"render: {line}", flush=True))
            self.state = "done"
            print(f"render: wrote {self.summary['output']} ({self.summary['frames']} frames, "
                  f"{self.summary['time']})", flush=True)
        except RenderCancelled:
            self.state = "cancelled"
            print("render: cancelled, no output written", flush=True)
        except Exception as err:  # shown on the page
            self.state, self.error = "failed", str(err).splitlines()[0] if str(err) else repr(err)
            print(f"render: failed: {self.error}", flush=True)

    def cancel(self, wait=0):
        """Stop a running render (its partial file is removed); True when one was running."""
        if not self.running:
            return False
        self._cancel.set()
        self._thread.join(timeout=wait)
        return True

    def to_dict(self):
        return {"state": self.state, "done": self.done, "total": self.total,
                "error": self.error, "summary": self.summary,
                "seconds": round(time.time() - self.started, 1) if self.started else None}


class FrameFeed:
    """Wakes the websocket senders on the event loop when the preview thread has a frame."""

    def __init__(self, loop):
        self.loop, self.closed = loop, False
        self._event = asyncio.Event()

    def notify(self):  # called on the preview thread
        self.loop.call_soon_threadsafe(self._wake)

    def _wake(self):
        event, self._event = self._event, asyncio.Event()
        event.set()

    def close(self):
        self.closed = True
        self._wake()

    async def wait(self):
        await self._event.wait()


def pack_frame(frame, fps, frame_ms):
    """One websocket message: a 4-byte big-endian header length, a JSON header, then the input
    JPEG and the output JPEG."""
    header = json.dumps({"serial": frame.serial, "index": frame.index, "version": frame.version,
                         "width": frame.width, "height": frame.height, "fps": round(fps, 2),
                         "frame_ms": round(frame_ms, 1),
                         "input_bytes": len(frame.input_jpeg)}).encode()
    return struct.pack(">I", len(header)) + header + frame.input_jpeg + frame.output_jpeg


def is_loopback(host):
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class LiveApp:
    """The routes, over one Preview and one RenderJob."""

    def __init__(self, args, preview, job, feed, command_line):
        self.args, self.preview, self.job, self.feed = args, preview, job, feed
        self.command_line = command_line
        self.app = web.Application(middlewares=[self.guard], client_max_size=64 * 1024)
        self.app.add_routes([
            web.get("/", self.page), web.get("/state", self.state),
            web.post("/settings", self.settings), web.post("/playback", self.playback),
            web.post("/render", self.start_render), web.post("/render/cancel", self.cancel_render),
            web.get("/frames", self.frames)])

    @web.middleware
    async def guard(self, request, handler):
        if is_loopback(self.args.host):
            allowed = {f"{name}:{self.args.port}" for name in
                       ("127.0.0.1", "localhost", "[::1]", self.args.host)}
            if request.host not in allowed:
                return error(403, f"unexpected Host {request.host!r}")
        if request.method == "POST":
            origin = request.headers.get("Origin")
            if origin is not None and origin != f"http://{request.host}":
                return error(403, "requests from another site's page are refused")
            if request.content_type != "application/json":
                return error(415, "expected Content-Type: application/json")
        return await handler(request)

    def render_args(self, settings):
        """process_video's arguments for a render with these settings."""
        return Namespace(**{**vars(self.args), **settings.to_dict(), "live": False})

    def snapshot(self):
        preview, source = self.preview, self.preview.source
        settings = preview.settings
        return {
            "input": self.args.input, "width": source.size[0], "height": source.size[1],
            "settings": settings.to_dict(), "version": preview.version,
            "ranges": {name: {"min": lo, "max": hi, "step": step}
                       for name, (lo, hi, step) in session.RANGES.items()},
            "styles": preview.styles, "has_refiner": preview.bundle.has_refiner,
            "paused": preview.paused, "fps": round(preview.fps, 2),
            "frame_ms": round(preview.frame_ms, 1), "error": preview.error,
            "render": {**self.job.to_dict(), "available": source.renderable,
                       "output": self.args.output if source.renderable else None,
                       "why_not": None if source.renderable else NO_RENDER},
            "command": self.command_line(self.render_args(settings)),
        }

    async def page(self, request):
        return web.FileResponse(PAGE, headers={"Cache-Control": "no-store"})

    async def state(self, request):
        return web.json_response(self.snapshot())

    async def settings(self, request):
        changes = await read_json(request)
        try:
            settings, version = self.preview.update(changes)
        except ValueError as err:
            return error(400, str(err))
        return web.json_response({"settings": settings.to_dict(), "version": version,
                                  "command": self.command_line(self.render_args(settings))})

    async def playback(self, request):
        body = await read_json(request)
        if not isinstance(body, dict) or set(body) != {"paused"} or \
                not isinstance(body["paused"], bool):
            return error(400, 'expected {"paused": true|false}')
        self.preview.set_paused(body["paused"])
        return web.json_response({"paused": self.preview.paused})

    async def start_render(self, request):
        if not self.preview.source.renderable:
            return error(409, NO_RENDER)
        if self.job.running:
            return error(409, "a render is already running")
        self.job.start(self.render_args(self.preview.settings))
        return web.json_response(self.job.to_dict(), status=202)

    async def cancel_render(self, request):
        return web.json_response({"cancelled": self.job.cancel()})

    async def frames(self, request):
        socket_ = web.WebSocketResponse(heartbeat=30)
        await socket_.prepare(request)
        sent = 0
        while not socket_.closed and not self.feed.closed:
            frame = self.preview.latest
            if frame is None or frame.serial == sent:
                await self.feed.wait()
                continue
            try:
                await socket_.send_bytes(pack_frame(frame, self.preview.fps,
                                                       self.preview.frame_ms))
            except (ConnectionError, RuntimeError):
                break
            sent = frame.serial
        await socket_.close()
        return socket_


async def read_json(request):
    """The request's JSON body, or an HTTP 400."""
    try:
        return json.loads(await request.text())
    except ValueError as err:
        raise web.HTTPBadRequest(text=json.dumps({"error": f"invalid JSON: {err}"}),
                                 content_type="application/json") from None


def error(status, message):
    return web.json_response({"error": message}, status=status)


def serve(args, render, command_line):
    """Run the live page until Ctrl-C (or SIGTERM). render, command_line: the script's own
    process_video.render, and the command line for a Namespace. Returns the exit code: 0, or
    130 when the stop cut a render short."""
    return asyncio.run(_serve(args, render, command_line))


def prepare(args, render, command_line, feed):
    """Load the bundle, open the input, and make the preview, the render job and the routes."""
    from vae.models import precision
    from vae.stylize import pipeline
    from vae.bundle.loader import Bundle

    settings = session.Settings.from_args(args)
    arithmetic, line = precision.resolve(args.precision)
    print(line, flush=True)
    bundle = Bundle(args.model, arithmetic)
    bundle.means.style_mean(settings.style)  # an unknown --style is an error before serving
    source = session.open_input(args.input, args.crop, args.start, args.duration, bundle.height)
    try:
        if args.source != "auto":
            source_mean = bundle.means.mean(args.source)
        elif source.renderable:
            source_mean = pipeline.clip_mean_code(bundle, source.info, source.crop, args.start,
                                                 args.duration)
        else:
            first = [frame for _, (_, frame) in zip(range(session.STREAM_MEAN_FRAMES),
                                                    source.frames())]
            source_mean = session.stream_mean_code(bundle, first)
    except BaseException:
        source.close()
        raise
    preview = session.Preview(bundle, source, settings, source_mean, on_frame=feed.notify)
    job = RenderJob(render, preview, bundle)
    return LiveApp(args, preview, job, feed, command_line)


async def _serve(args, render, command_line):
    if args.host != "127.0.0.1":
        print(f"warning: --host {args.host}: the page is reachable at that address, not only "
              "from this machine, and anyone who reaches it can change the settings and start "
              "renders", flush=True)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    listener = bind(args.host, args.port)  # before loading anything: a taken port fails fast
    feed = FrameFeed(loop)
    try:
        app = prepare(args, render, command_line, feed)
    except BaseException:
        listener.close()
        raise
    preview, job = app.preview, app.job
    runner = web.AppRunner(app.app, handle_signals=False)
    await runner.setup()
    await web.SockSite(runner, listener).start()
    preview.start()
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"live page: http://{host}:{args.port}/  ({args.input}, preview "
          f"{preview.source.size[0]}x{preview.source.size[1]}; Ctrl-C to stop)", flush=True)
    reported = None
    try:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), timeout=0.5)
            except asyncio.TimeoutError:
                pass
            if preview.error and preview.error != reported:
                print(f"preview stopped: {preview.error}", flush=True)
                reported = preview.error
    finally:
        interrupted = job.cancel(wait=60)
        feed.close()
        preview.stop()
        await runner.cleanup()
    if interrupted:
        print("stopped: the render in progress was cancelled, no output written", flush=True)
        return 130
    print("stopped", flush=True)
    return 0


def bind(host, port):
    """A listening socket on host:port; InputError when the port is taken or the address is
    not this machine's."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror as err:
        raise InputError(f"cannot listen on --host {host}: {err.strerror}") from None
    listener = socket.socket(family, kind, proto)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(address)
        listener.listen(64)
    except OSError as err:
        listener.close()
        if err.errno == errno.EADDRINUSE:
            raise InputError(f"port {port} on {host} is in use (another live page?): choose "
                             "another --port") from None
        raise InputError(f"cannot listen on {host}:{port}: {err.strerror}") from None
    listener.setblocking(False)
    return listener
