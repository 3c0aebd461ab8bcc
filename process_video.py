#!/usr/bin/env python3
"""Stylise a video clip with a model bundle, keeping its audio.

Every frame is cropped of black borders, encoded, moved in latent space away from the clip's
own mean code and toward the paintings' mean (z' = z - alpha * mean_source + beta * mean_style),
decoded, refined, smoothed over time, scaled back to the cropped input size and written as an
H.264 MP4 with the input's audio. With --detail D, the frame's own detail that the model
cannot encode is added back at full resolution: y = up(S(z')) + D * (x - up(S(z))), so the
clip keeps its content while it takes the paintings' palette. Re-run it on any new clip.

With --live, the clip plays stylised in a local web page instead, with sliders for the
settings; its Render button then writes the whole clip as this command would.

Example:
  python process_video.py clip.mp4                       # -> clip-stylized.mp4
  python process_video.py clip.mp4 -o out.mp4 --detail 0 --inset --start 10 --duration 5
  python process_video.py clip.mp4 --live                # then open http://127.0.0.1:8000/
"""
import sys

from vae.cli import parser_for, report_input_errors
from vae.flags import parse
from vae.options import ProcessOptions


def parse_args(argv):
    parser = parser_for(__doc__)
    options = parse(parser, ProcessOptions(), argv)
    if not options.live and (options.port, options.host) != (ProcessOptions.port,
                                                             ProcessOptions.host):
        parser.error("--port and --host go with --live")
    return options


def process(args):
    from vae.bundle.loader import open_bundle
    from vae.console import format_table, progress_bar
    from vae.media.video import check_video_file
    from vae.stylize.render import check_output, default_output, render

    check_video_file(args.input)  # before the bundle loads, which takes seconds
    output = check_output(args.input, default_output(args.input, args.output), args.model)
    bars = []  # the progress bar appears when the first frames are written

    def progress(count, total):
        if not bars:
            bars.append(progress_bar(total=total, unit="frame", desc="stylizing"))
        bars[0].update(count)

    try:
        bundle = open_bundle(args.model, args.precision)
        row = render(args.input, output, bundle, args.settings, args.render, progress=progress)
    finally:
        for bar in bars:
            bar.close()
    print(format_table(list(row), [tuple(row.values())]))
    return 0


def live(args):
    from vae.live import server
    from vae.live.session import is_file
    from vae.stylize.render import check_output, default_output

    output = default_output(args.input, args.output)
    if is_file(args.input):  # a missing input is an error before the bundle loads
        check_output(args.input, output, args.model)
    return server.serve(server.LiveConfig(args.input, output, args.model, args.precision,
                                          args.settings, args.render, args.host, args.port))


def main(argv=None):
    args = parse_args(argv)
    return report_input_errors(live if args.live else process, args)


if __name__ == "__main__":
    sys.exit(main())
