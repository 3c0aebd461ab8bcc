"""Options dataclasses whose fields are also command-line flags.

A field made with flag() states its default, its argparse type and its help once; one made
with nested() holds another options dataclass, whose flags are added under a prefix. add_flags
turns an instance (its values are the defaults) into argparse flags, from_flags turns the
parsed flags back into the dataclass, and flat() lists the values by flag name, as a run's
config.json records them. Plain Python, importing nothing of the library, so that --help
answers at once.
"""
import dataclasses


def flag(default, help, *, type=None, metavar=None, choices=None, name=None, exclusive=None):
    """A field that is also the flag --NAME (name: the field's own by default, with the
    prefixes of the options that hold it). help may show the default as {default}; where it
    does not, "(default: ...)" is added, unless the default is None. exclusive: the flags of
    one exclusive group are mutually exclusive."""
    return dataclasses.field(default=default, metadata={"flag": {
        "help": help, "type": type, "metavar": metavar, "choices": choices, "name": name,
        "exclusive": exclusive}})


def nested(default, prefix=""):
    """A field holding another options dataclass, its flags named with prefix."""
    return dataclasses.field(default=default, metadata={"prefix": prefix})


def _show(value):
    if isinstance(value, (tuple, list)):
        return ",".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def _fields(options, prefix="", skip=()):
    """(flag name, value, flag metadata or None) of every plain field of options, those of
    nested options too, in order; skip: names of options' own fields to leave out."""
    for field in dataclasses.fields(options):
        if field.name in skip:
            continue
        value = getattr(options, field.name)
        if "prefix" in field.metadata:
            yield from _fields(value, prefix + field.metadata["prefix"])
        else:
            yield _name(field, prefix), value, field.metadata.get("flag")


def _name(field, prefix):
    """A plain field's flag name (its dest): the flag's own, or prefix + the field's."""
    meta = field.metadata.get("flag")
    return (meta and meta["name"]) or prefix + field.name


def add_flags(parser, defaults):
    """Add the flags of an options instance to an argparse parser, its values the defaults."""
    groups = {}
    for dest, value, meta in _fields(defaults):
        if meta is None:
            continue
        help_text = meta["help"]
        if "{default}" in help_text:
            help_text = help_text.format(default=_show(value))
        elif value is not None:
            help_text = f"{help_text} (default: {_show(value)})"
        target = parser
        if meta["exclusive"]:
            if meta["exclusive"] not in groups:
                groups[meta["exclusive"]] = parser.add_mutually_exclusive_group()
            target = groups[meta["exclusive"]]
        target.add_argument("--" + dest.replace("_", "-"), dest=dest, default=value,
                            type=meta["type"], metavar=meta["metavar"], choices=meta["choices"],
                            help=help_text)


def from_flags(cls, args, defaults=None, prefix=""):
    """An instance of the options dataclass cls from parsed flags (argparse's namespace); a
    field that has no flag there keeps its value in defaults (cls's own defaults by default)."""
    defaults = defaults if defaults is not None else cls()
    values = {}
    for field in dataclasses.fields(cls):
        value = getattr(defaults, field.name)
        if "prefix" in field.metadata:
            values[field.name] = from_flags(type(value), args, value,
                                            prefix + field.metadata["prefix"])
        else:
            values[field.name] = getattr(args, _name(field, prefix), value)
    return dataclasses.replace(defaults, **values)


def parse(parser, defaults, argv=None):
    """Add defaults' flags to parser, parse argv and return the options; a value the options
    refuse (ValueError) is argparse's `error: ...` and exit 2, as a bad flag value is."""
    add_flags(parser, defaults)
    args = parser.parse_args(argv)
    try:
        return from_flags(type(defaults), args, defaults)
    except ValueError as err:
        parser.error(str(err))


def flat(options, skip=()):
    """{flag name: value} of every field of options, nested ones too, lists for tuples: what a
    run's config.json records of its options; skip: options' own fields to leave out."""
    return {name: list(value) if isinstance(value, tuple) else value
            for name, value, _ in _fields(options, skip=skip)}
