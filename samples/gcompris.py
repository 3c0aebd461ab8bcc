"""Impressionist paintings, and photographs and drawings that are not paintings, from Debian's
gcompris-qt-data, for the demo and the painting probe.

No Python package ships paintings with visible brushwork, but GCompris's "paintings" puzzle
does: public-domain works (from the WebMuseum, distributed by GCompris under the GPL-3+) cut
into jigsaw pieces inside a Qt resource file. This module reads that file (Qt's rcc format,
version 1 to 3, uncompressed or zlib entries) and lays each board's pieces back at their
places, so the painting comes out whole. Other activities of the same package ship
photographs (from Wikimedia Commons, each credited in its activity's README) and cartoon
drawings: --pictures writes those, the probe's examples of what does not look painted.

  python -m samples.gcompris /usr/share/gcompris-qt/rcc/paintings.rcc --out paintings/
  python -m samples.gcompris .../paintings.rcc --other-oils --out other-oils/
  python -m samples.gcompris --pictures /usr/share/gcompris-qt/rcc/{erase,lang}.rcc \
      --out not-paintings/
"""
import argparse
import io
import os
import re
import struct
import sys
import zlib

import numpy as np

BOARD_FOLDER = "/resource/board/"
# Boards of the impressionists and post-impressionists, by the name of their first piece.
IMPRESSIONISTS = ("gogh_auvert", "renoir-moulin_de_la_galette", "renoir-filles_piano",
                  "cassat_summertime", "bazille_rampart")
# The other oil paintings (not the prints, the sculpture or the drawing): more paintings for
# the painting probe to learn "painted" from than the five the demo trains on.
OTHER_OILS = ("MonaLisa", "PalaDiPesaro", "PieterBruegel", "kandinky", "Arcimboldo_Spring",
              "Arcimboldo_Librarian")
COMPRESSED, DIRECTORY, ZSTD = 0x1, 0x2, 0x4
SOURCE_NOTE = "SOURCE.txt"
LICENCE = ("Public-domain paintings, as shipped by GCompris (Debian package gcompris-qt-data), "
           "which took them from the WebMuseum and distributes them under the GPL-3.0-or-later.")
PICTURES_LICENCE = ("Photographs and drawings as shipped by GCompris (Debian package "
                    "gcompris-qt-data); each activity's credits and licences follow, as its "
                    "README gives them. An activity without a README (lang: the word "
                    "drawings) comes under GCompris's own licence, the GPL-3.0-or-later.")
# Activities whose pictures are photographs (animals, monuments) or cartoon drawings (words).
PICTURE_ACTIVITIES = ("erase", "explore_farm_animals", "explore_world_animals",
                      "explore_monuments", "lang")
PICTURE_EXTENSIONS = (".webp", ".png", ".jpg", ".jpeg")
MIN_PICTURE_SIDE = 256  # smaller ones are icons and puzzle pieces
MAX_PICTURE_SIDE = 640  # larger ones are shrunk: the probe sees them at 320x180 at most


def read_resources(path):
    """{path inside the resource file: bytes} for every file of a Qt rcc file."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"qres":
        raise ValueError(f"{path}: not a Qt resource file (no 'qres' header)")
    version, tree, payload, names = struct.unpack(">IIII", data[4:20])
    if not 1 <= version <= 3:
        raise ValueError(f"{path}: Qt resource format version {version} is not supported")
    entry_size = 14 if version == 1 else 22  # version 2 added a modification time

    def name(offset):
        length, = struct.unpack(">H", data[names + offset:names + offset + 2])
        start = names + offset + 6  # after the length and a hash
        return data[start:start + 2 * length].decode("utf-16-be")

    files = {}
    pending = [(0, "")]
    while pending:
        index, parent = pending.pop()
        at = tree + index * entry_size
        name_offset, flags = struct.unpack(">IH", data[at:at + 6])
        here = parent + "/" + name(name_offset) if index else ""
        if flags & DIRECTORY:
            count, first = struct.unpack(">II", data[at + 6:at + 14])
            pending.extend((child, here) for child in range(first, first + count))
            continue
        offset, = struct.unpack(">I", data[at + 10:at + 14])
        size, = struct.unpack(">I", data[payload + offset:payload + offset + 4])
        blob = data[payload + offset + 4:payload + offset + 4 + size]
        if flags & ZSTD:
            raise ValueError(f"{path}: {here} is zstd-compressed, which is not supported")
        files[here] = zlib.decompress(blob[4:]) if flags & COMPRESSED else blob
    return files


def parse_board(text):
    """(title, (width, height), [(piece path, centre x, centre y)]) of one board's QML; the
    centres are fractions of the board's size."""
    title = re.search(r'instruction:\s*qsTr\("([^"]*)"\)', text)
    width = re.search(r'"width"\s*:\s*(\d+)', text)
    height = re.search(r'"height"\s*:\s*(\d+)', text)
    pieces = re.findall(r'"pixmapfile"\s*:\s*"([^"]+)"\s*,\s*"x"\s*:\s*"([\d.]+)"\s*,'
                        r'\s*"y"\s*:\s*"([\d.]+)"', text)
    if not (title and width and height and pieces):
        raise ValueError("not a paintings board: no title, size or pieces")
    return (title.group(1), (int(width.group(1)), int(height.group(1))),
            [(path, float(x), float(y)) for path, x, y in pieces])


def assemble(pieces, size, open_piece):
    """The board's pieces (RGBA, each centred at its place) composited, cropped to the fully
    opaque box: the painting, as an RGB PIL image."""
    from PIL import Image

    canvas = Image.new("RGBA", size, (0, 0, 0, 0))
    for path, x, y in pieces:
        piece = open_piece(path).convert("RGBA")
        canvas.alpha_composite(piece, (round(x * size[0] - piece.width / 2),
                                       round(y * size[1] - piece.height / 2)))
    opaque = canvas.getchannel("A").point(lambda a: 255 if a == 255 else 0).getbbox()
    if opaque is None:
        raise ValueError("the board's pieces cover nothing")
    return canvas.crop(opaque).convert("RGB")


def slug(title):
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")


def paintings(rcc_path, boards=IMPRESSIONISTS):
    """Yield (title, RGB image) for every board whose first piece's name starts with one of
    `boards` (every board when boards is None)."""
    from PIL import Image

    files = read_resources(rcc_path)
    for path in sorted(p for p in files if BOARD_FOLDER in p and p.endswith(".qml")):
        try:
            title, size, pieces = parse_board(files[path].decode("utf-8"))
        except ValueError as err:
            raise ValueError(f"{rcc_path}: {path}: {err}") from None
        first = os.path.basename(pieces[0][0])
        if boards is not None and not first.startswith(tuple(boards)):
            continue
        folder = path[:path.index(BOARD_FOLDER) + len("/resource/")]
        yield title, assemble(pieces, size,
                              lambda piece, folder=folder: Image.open(
                                  io.BytesIO(files[folder + piece])))


def pictures(rcc_path, min_side=MIN_PICTURE_SIDE):
    """([(name, RGB uint8 array)], credits) of a resource file's raster pictures at least
    min_side on their short side (shrunk to MAX_PICTURE_SIDE on their long side),
    transparency composited on white; name is <activity>-<file stem>, credits the text of
    the activities' READMEs."""
    from PIL import Image

    from vae.media.frames import load_image

    files = read_resources(rcc_path)
    found, credits = [], []
    for path in sorted(files):
        activity = path.split("/activities/")[-1].split("/")[0]
        if os.path.basename(path) == "README":
            credits.append(f"== {activity}: {path}\n"
                           + files[path].decode("utf-8", "replace").strip() + "\n")
        elif path.lower().endswith(PICTURE_EXTENSIONS):
            image = load_image(io.BytesIO(files[path]))
            if min(image.shape[:2]) >= min_side:
                stem = os.path.splitext(os.path.basename(path))[0]
                if max(image.shape[:2]) > MAX_PICTURE_SIDE:
                    shrunk = Image.fromarray(image)
                    shrunk.thumbnail((MAX_PICTURE_SIDE, MAX_PICTURE_SIDE), Image.LANCZOS)
                    image = np.asarray(shrunk)
                found.append((f"{activity}-{slug(stem)}", image))
    return found, "\n".join(credits)


def written_here(folder):
    """True for a folder this module wrote (it holds SOURCE_NOTE): the only kind it replaces."""
    return os.path.isfile(os.path.join(folder, SOURCE_NOTE))


def _reading(rcc_path, read):
    """read(rcc_path), its failures as one-line InputErrors naming the file."""
    from vae import InputError

    try:
        return read(rcc_path)
    except ValueError as err:  # read_resources names the file
        raise InputError(str(err)) from None
    except (KeyError, struct.error, zlib.error, OSError) as err:
        raise InputError(f"{rcc_path}: damaged Qt resource file ({err})") from None


def write_paintings(args):
    from vae import InputError
    from vae.media import atomic, targets

    if len(args.rcc) != 1:
        raise InputError("paintings come from one paintings.rcc (--pictures takes several)")
    rcc = args.rcc[0]
    targets.check_target(args.out, "--out", folder=True, inputs=(rcc,),
                        replaceable=written_here, what="paintings folder")
    boards = None if args.all else OTHER_OILS if args.other_oils else IMPRESSIONISTS
    found = _reading(rcc, lambda path: list(paintings(path, boards)))
    if not found:
        raise InputError(f"{rcc}: no paintings board found")
    with atomic.writing_folder(args.out, replaceable=written_here) as tmp:
        for title, image in found:
            image.save(os.path.join(tmp, slug(title) + ".png"))
        with open(os.path.join(tmp, SOURCE_NOTE), "w") as f:
            f.write(f"{LICENCE}\nFrom {rcc}:\n")
            f.writelines(f"  {slug(title)}.png: {title}\n" for title, _ in found)
    for title, image in found:
        print(f"{title}: {image.width}x{image.height}")
    return 0


def write_pictures(args):
    from PIL import Image

    from vae import InputError
    from vae.media import atomic, targets

    targets.check_target(args.out, "--out", folder=True, inputs=tuple(args.rcc),
                        replaceable=written_here, what="pictures folder")
    found, credits = [], []
    for rcc in args.rcc:
        images, text = _reading(rcc, pictures)
        found += images
        credits.append(f"From {rcc}:\n{text}")
    if not found:
        raise InputError(f"no pictures of {MIN_PICTURE_SIDE} pixels or more in "
                         + ", ".join(args.rcc))
    with atomic.writing_folder(args.out, replaceable=written_here) as tmp:
        for name, image in found:
            Image.fromarray(image).save(os.path.join(tmp, name + ".png"))
        with open(os.path.join(tmp, SOURCE_NOTE), "w") as f:
            f.write(PICTURES_LICENCE + "\n\n" + "\n".join(credits))
    print(f"{len(found)} pictures in {args.out}")
    return 0


def main(argv=None):
    from vae import cli

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("rcc", nargs="+", help="GCompris's paintings.rcc (with --pictures: "
                                                "any of its resource files, for example "
                                                + ", ".join(f"{a}.rcc" for a in
                                                            PICTURE_ACTIVITIES) + ")")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="folder for the paintings or pictures (PNG, named after their "
                             "titles); an existing one is replaced only when this module "
                             "wrote it")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--all", action="store_true",
                       help="every board, not only the impressionists")
    which.add_argument("--other-oils", action="store_true",
                       help="the other oil paintings instead of the impressionists (Leonardo, "
                            "Bellini, Bruegel, Arcimboldo, Kandinsky): the painting probe's")
    parser.add_argument("--pictures", action="store_true",
                        help="write the files' photographs and drawings instead of paintings")
    args = parser.parse_args(argv)
    return cli.report_input_errors(write_pictures if args.pictures else write_paintings, args)


if __name__ == "__main__":
    sys.exit(main())
