"""Options dataclasses whose fields are also command-line flags.

A field made with flag() states its default, its argparse type and its help once; one made
with nested() holds another options dataclass, whose flags are added under a prefix. add_flags
turns an instance (its values are the defaults) into argparse flags, from_flags turns the
parsed flags back into the dataclass, to_argv writes the flags that give an instance back (the
command the live page shows), and flat() lists the values by flag name, as a run's config.json
records them. A field whose default is True or False is a switch: --NAME turns on what is off
by default, --no-NAME turns off what is on. Plain Python, importing nothing of the library,
so that --help answers at once.
"""
import dataclasses


def flag(default, help, *, type=None, metavar=None, choices=None, name=None, exclusive=None,
         short=None, positional=False, group=None, repeat=False, resumable=False):
    """A field that is also the flag --NAME (name: the field's own by default, with the
    prefixes of the options that hold it). help may show the default as {default}; where it
    does not, "(default: ...)" is added, unless the default is None or a switch's. exclusive:
    the flags of one exclusive group are mutually exclusive; short: a one-letter alias such as
    "-o"; positional: an argument without a flag, its metavar its name; group: the title of
    the --help section it is listed under; repeat: a flag given any number of times, its
    values a tuple; resumable: a trainer's option that may change when a run resumes (how
    long, how fast, on what hardware), where any other is what the run is and must not."""
    return dataclasses.field(default=default, metadata={"flag": {
        "help": help, "type": type, "metavar": metavar, "choices": choices, "name": name,
        "exclusive": exclusive, "short": short, "positional": positional, "group": group,
        "repeat": repeat, "resumable": resumable}})


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
        elif value is not None and not isinstance(value, bool) and not meta["repeat"]:
            help_text = f"{help_text} (default: {_show(value)})"
        target = parser
        for key, make in (("group", parser.add_argument_group),
                          ("exclusive", parser.add_mutually_exclusive_group)):
            if meta[key]:
                if (key, meta[key]) not in groups:
                    groups[key, meta[key]] = make(meta[key]) if key == "group" else make()
                target = groups[key, meta[key]]
        if meta["positional"]:
            target.add_argument(dest, metavar=meta["metavar"], type=meta["type"],
                                help=help_text)
        elif isinstance(value, bool):
            target.add_argument(_switch(dest, value), dest=dest, default=value,
                                action="store_false" if value else "store_true",
                                help=help_text)
        elif meta["repeat"]:
            target.add_argument(_option(dest), dest=dest, action="append", type=meta["type"],
                                metavar=meta["metavar"], help=help_text)
        else:
            names = [meta["short"]] if meta["short"] else []
            target.add_argument(*names, _option(dest), dest=dest, default=value,
                                type=meta["type"], metavar=meta["metavar"],
                                choices=meta["choices"], help=help_text)


def _option(dest):
    return "--" + dest.replace("_", "-")


def _switch(dest, default):
    """A switch's flag: --NAME turns on what is off by default, --no-NAME turns off what is
    on."""
    return _option(dest if not default else "no_" + dest)


def to_argv(options, always=()):
    """The flags that give options back: those whose value differs from the default of its
    dataclass, and every one named in always (by flag name)."""
    defaults = type(options)()
    argv = []
    for (dest, value, meta), (_, default, _) in zip(_fields(options), _fields(defaults)):
        if meta is None or (value == default and dest not in always):
            continue
        if meta["positional"]:
            argv.append(_show(value))
        elif isinstance(value, bool):
            argv += [_switch(dest, default)] if value != default else []
        elif meta["repeat"]:
            argv += [item for v in value for item in (_option(dest), _show(v))]
        elif value is not None:
            argv += [meta["short"] or _option(dest),
                     repr(value) if isinstance(value, float) else _show(value)]
    return argv


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
            given = getattr(args, _name(field, prefix), value)
            if field.metadata.get("flag", {}).get("repeat"):  # None: not given at all
                given = value if given is None else tuple(given)
            values[field.name] = given
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


def resumable(options):
    """The flag names of the options that may change when a run resumes."""
    return {name for name, _, meta in _fields(options) if meta and meta["resumable"]}


def flat(options, skip=()):
    """{flag name: value} of every field of options, nested ones too, lists for tuples: what a
    run's config.json records of its options; skip: options' own fields to leave out."""
    return {name: list(value) if isinstance(value, tuple) else value
            for name, value, _ in _fields(options, skip=skip)}
