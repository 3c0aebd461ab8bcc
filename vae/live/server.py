"""The live tuning page's web server (aiohttp): the page, its settings and Render over HTTP,
the preview's frames over a websocket.

Safe by default: it listens on 127.0.0.1; a request can change the settings, pause, and start
or cancel the one render whose output path came from the command line, nothing else. Every
POST must be JSON, any request with an Origin (the websocket's handshake too) must come from
the page's own (so another site open in the browser can neither post nor watch), and on a
loopback address the Host header must name it (DNS rebinding).

Routes: GET / (the page), GET /state, POST /settings, POST /playback, POST /render,
POST /render/cancel, GET /frames (websocket: one binary message per frame).
"""
import asyncio
import errno
import ipaddress
import json
import logging
import os
import shlex
import signal
import socket
import struct
import sys
import threading
import time
from dataclasses import dataclass, replace

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from yarl import URL

from vae import InputError
from vae.flags import to_argv
from vae.live import session
from vae.options import ProcessOptions
from vae.stylize.settings import RANGES, RenderOptions, StyleSettings

PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "page.html")
LOOPBACK_NAMES = ("localhost",)
NO_RENDER = "a camera or stream has no end: Render needs a video file"
BODY_TIMEOUT = 10  # seconds a request body may take to arrive
IDLE_TIMEOUT = 15  # seconds a connection may stay idle, or send headers that never end
MAX_SOCKETS = 8  # frame websockets open at once (a page uses one)


@dataclass(frozen=True)
class LiveConfig:
    """What the command line fixes for the page's lifetime: the input, Render's output, the
    bundle and its precision, the first settings, the clip options, and where to listen."""
    input: str
    output: str
    model: str
    precision: str
    settings: StyleSettings
    options: RenderOptions
    host: str = "127.0.0.1"
    port: int = 8000

    def command(self, settings):
        """The plain command that renders the clip with these settings."""

        return command_line(self.input, self.output, self.model, self.precision, settings,
                            self.options)


class RenderCancelled(Exception):
    """Raised in render()'s progress callback to stop it; the writer then leaves no file."""


class RenderJob:
    """The page's Render: vae.stylize.render on a thread with a snapshot of the settings,
    with the preview held meanwhile so that the render has the CPU."""

    def __init__(self, config, preview, bundle):
        self.config, self.preview, self.bundle = config, preview, bundle
        self.state, self.done, self.total, self.error, self.summary = "idle", 0, None, None, None
        self.settings, self.started = None, None
        self._cancel = threading.Event()
        self._thread = None

    @property
    def running(self):
        return self._thread is not None and self._thread.is_alive()

    def start(self, settings):
        self.settings, self.total, self.done = settings, None, 0
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
        from vae.stylize.render import render

        try:
            with self.preview.hold():
                self.summary = render(self.config.input, self.config.output, self.bundle,
                                      self.settings, self.config.options,
                                      progress=self._progress,
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

    def __init__(self, config, preview, job, feed):
        self.config, self.preview, self.job, self.feed = config, preview, job, feed
        self.sockets = 0  # frame websockets open now
        self.app = web.Application(middlewares=[self.guard], client_max_size=64 * 1024)
        self.app.add_routes([
            web.get("/", self.page), web.get("/state", self.state),
            web.post("/settings", self.settings), web.post("/playback", self.playback),
            web.post("/render", self.start_render), web.post("/render/cancel", self.cancel_render),
            web.get("/frames", self.frames)])

    @web.middleware
    async def guard(self, request, handler):
        try:
            addressed = [request.url] + [URL(f"http://{host}") for host in
                                         request.headers.getall("Host", [])]
        except ValueError:
            return error(400, "the request names no valid host")
        if is_loopback(self.config.host):
            # the Host header, and the request line when it names one (absolute form): only
            # this server's names, so that another site's name bound to 127.0.0.1 is refused
            names = {"127.0.0.1", "localhost", "::1", self.config.host.strip("[]")}
            if any(url.host not in names or url.port != self.config.port for url in addressed):
                return error(403, f"unexpected Host {request.host!r}")
        # Browsers send Origin with every POST and websocket handshake: another site's page
        # may neither change the settings nor watch the frames.
        origin = request.headers.get("Origin")
        if origin is not None and origin != str(addressed[0].origin()):
            return error(403, "requests from another site's page are refused")
        if request.method == "POST":
            if request.content_type != "application/json":
                return error(415, "expected Content-Type: application/json")
        return await handler(request)

    def snapshot(self):
        preview, source = self.preview, self.preview.source
        settings = preview.settings
        return {
            "input": self.config.input, "width": source.size[0], "height": source.size[1],
            "settings": settings.to_dict(), "version": preview.version,
            "ranges": {name: {"min": lo, "max": hi, "step": step}
                       for name, (lo, hi, step) in RANGES.items()
                       if name != "paint" or preview.bundle.painter(settings.painter)},
            "styles": preview.styles, "has_refiner": preview.bundle.has_refiner,
            "paused": preview.paused, "fps": round(preview.fps, 2),
            "frame_ms": round(preview.frame_ms, 1), "error": preview.error,
            "render": {**self.job.to_dict(), "available": source.renderable,
                       "output": self.config.output if source.renderable else None,
                       "why_not": None if source.renderable else NO_RENDER},
            "command": self.config.command(settings),
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
                                  "command": self.config.command(settings)})

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
        self.job.start(self.preview.settings)
        return web.json_response(self.job.to_dict(), status=202)

    async def cancel_render(self, request):
        return web.json_response({"cancelled": self.job.cancel()})

    async def frames(self, request):
        if self.sockets >= MAX_SOCKETS:
            return error(503, f"{MAX_SOCKETS} frame sockets are open already")
        self.sockets += 1
        try:
            return await self._send_frames(request)
        finally:
            self.sockets -= 1

    async def _send_frames(self, request):
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
    """The request's JSON body; an HTTP 400 for a body that its Content-Encoding does not
    decode, that is not text in its charset, or
    invalid or too deeply nested JSON, 408 when
    the body does not arrive within BODY_TIMEOUT seconds (a false Content-Length)."""
    try:
        body = await asyncio.wait_for(request.read(), BODY_TIMEOUT)
    except asyncio.TimeoutError:
        raise web.HTTPRequestTimeout(text=json.dumps({"error": "the request body never came"}),
                                     content_type="application/json") from None
    except (web.RequestPayloadError, HttpProcessingError) as err:  # a body that its
        # Content-Encoding cannot decode, met as aiohttp reads it
        reason = getattr(err, "message", None) or str(err).splitlines()[-1].strip()
        raise web.HTTPBadRequest(text=json.dumps({"error": f"bad body: {reason}"}),
                                 content_type="application/json") from None
    try:
        text = body.decode(request.charset or "utf-8")
    except (UnicodeDecodeError, LookupError):
        raise web.HTTPBadRequest(text=json.dumps(
            {"error": f"the body is not text in charset {request.charset or 'utf-8'}"}),
            content_type="application/json") from None
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as err:
        reason = "nested too deeply" if isinstance(err, RecursionError) else err
        raise web.HTTPBadRequest(text=json.dumps({"error": f"invalid JSON: {reason}"}),
                                 content_type="application/json") from None


def error(status, message):
    return web.json_response({"error": message}, status=status)


def serve(config):
    """Run the live page for a LiveConfig until Ctrl-C (or SIGTERM). Returns the exit code:
    0, or 130 when the stop cut a render short."""
    return asyncio.run(_serve(config))


def source_mean_code(bundle, source, config):
    """The mean code the settings move away from, for source "auto": a file's, from a sample
    over its excerpt, or a camera's or stream's, from its first frames; None otherwise."""
    from vae.stylize.stream import clip_mean_code, mean_code

    if config.settings.source != "auto":
        return None
    if source.renderable:
        return clip_mean_code(bundle, source.info, source.crop, config.options.start,
                              config.options.duration)
    first = source.frames()
    return mean_code(bundle, (frame for _, (_, frame) in zip(range(session.STREAM_MEAN_FRAMES),
                                                             first)))


def prepare(config, feed):
    """Load the bundle, open the input, and make the preview, the render job and the routes."""
    from vae.bundle.loader import open_bundle

    bundle = open_bundle(config.model, config.precision,
                         report=lambda line: print(line, flush=True))
    config.settings.resolve(bundle)  # an unknown --style or --source is an error before serving
    config = replace(config, settings=config.settings.for_bundle(bundle))
    options = config.options
    source = session.open_input(config.input, options.crop, options.start, options.duration,
                                bundle.height)
    try:
        source_mean = source_mean_code(bundle, source, config)
    except BaseException:
        source.close()
        raise
    preview = session.Preview(bundle, source, config.settings, source_mean,
                              on_frame=feed.notify)
    job = RenderJob(config, preview, bundle)
    return LiveApp(config, preview, job, feed)


class OneLineLog(logging.Handler):
    """aiohttp's own reports (a malformed request, a handler's failure) as one line each on
    the terminal, never a traceback: a bad request is the client's problem, not the user's."""

    def emit(self, record):
        error = record.exc_info[1] if record.exc_info else None
        reason = f" ({type(error).__name__}: {error})" if error else ""
        line = f"live page: {record.getMessage()}{reason}".splitlines()[0]
        print(line[:300], file=sys.stderr, flush=True)


def log_one_line():
    log = logging.getLogger("aiohttp")
    log.handlers[:] = [OneLineLog(logging.WARNING)]
    log.propagate = False


async def _serve(config):
    log_one_line()
    if config.host != "127.0.0.1":
        print(f"warning: --host {config.host}: the page is reachable at that address, not only "
              "from this machine, and anyone who reaches it can change the settings and start "
              "renders", flush=True)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    listener = bind(config.host, config.port)  # before loading anything: a taken port fails fast
    feed = FrameFeed(loop)
    try:
        app = prepare(config, feed)
    except BaseException:
        listener.close()
        raise
    preview, job = app.preview, app.job
    runner = web.AppRunner(app.app, handle_signals=False, keepalive_timeout=IDLE_TIMEOUT)
    await runner.setup()
    await web.SockSite(runner, listener).start()
    preview.start()
    host = f"[{config.host}]" if ":" in config.host else config.host
    print(f"live page: http://{host}:{config.port}/  ({config.input}, preview "
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


def command_line(input_path, output, model, precision, settings, options):
    """The process_video.py command that renders the same clip: the live page shows it."""
    chosen = ProcessOptions(input_path, output, model, settings, options, precision)
    return shlex.join(["python", "process_video.py",
                       *to_argv(chosen, always=("output", "model", *RANGES))])
