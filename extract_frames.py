#!/usr/bin/env python3
"""Turn painting folders and video files into shuffled, gzipped TFRecord shards + manifest.json.

Example:
  python extract_frames.py --paintings paintings/ --video clip.mp4
  python extract_frames.py --append --video second_clip.mp4      # add a source later
"""
import sys

from vae.cli import parser_for, report_input_errors
from vae.flags import parse
from vae.options import ExtractOptions


def parse_args(argv):
    parser = parser_for(__doc__)
    options = parse(parser, ExtractOptions(), argv)
    if not options.paintings and not options.video:
        parser.error("nothing to extract: give at least one --paintings DIR or --video FILE")
    return options


def extract(options):
    from vae.data.extraction import extract

    return extract(options)


def main(argv=None):
    return report_input_errors(extract, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
