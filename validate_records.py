#!/usr/bin/env python3
"""Read every record of a data folder back, check it against manifest.json, write contact sheets.

Exit status: 0 when everything holds, 1 when a shard is damaged or counts/checksums disagree
(each damaged shard is named, with the record index where known), 2 on bad arguments.

Example:
  python validate_records.py --data data     # then look at data/contact-<source>.png
"""
import sys

from vae.cli import parse_options, report_input_errors
from vae.options import ValidateOptions


def validate(options):
    from vae.data.validation import validate

    return validate(options)


def main(argv=None):
    return report_input_errors(validate, parse_options(__doc__, ValidateOptions(), argv))


if __name__ == "__main__":
    sys.exit(main())
