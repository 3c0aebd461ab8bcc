"""The demo's impressionists: GCompris's puzzle boards read from a Qt resource file and
reassembled, on a resource file written here in Qt's rcc format."""
import io
import os
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import Image

from samples import gcompris
from tests.helpers import REPO

BOARD = """QtObject {
   property string instruction: qsTr("Painter, A Test - 1890")
   property var levels : [
      { "pixmapfile" : "image/bg.svg", "type" : "SHAPE_BACKGROUND_IMAGE",
        "width": 50, "height": 40 },
%s
   ]
}"""


def write_rcc(path, files, compress=()):
    """A Qt resource file (format version 3) holding files {"/a/b/name": bytes}; the paths in
    `compress` are stored zlib-compressed, as rcc does for files that shrink."""
    tree = {"": {}}
    for name in files:
        node = tree[""]
        parts = name.strip("/").split("/")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = name
    names, payload, entries = bytearray(), bytearray(), []

    def name_offset(text):
        offset = len(names)
        names.extend(struct.pack(">HI", len(text), 0) + text.encode("utf-16-be"))
        return offset

    queue = [("", tree[""])]  # breadth first: a folder's children get consecutive entries
    entries.append(None)
    slots = {id(tree[""]): 0}
    while queue:
        label, node = queue.pop(0)
        first = len(entries)
        children = sorted(node.items())
        entries.extend([None] * len(children))
        entries[slots[id(node)]] = struct.pack(
            ">IHII", name_offset(label) if label else 0, gcompris.DIRECTORY, len(children),
            first) + bytes(8)
        for index, (child, value) in enumerate(children, first):
            if isinstance(value, dict):
                slots[id(value)] = index
                queue.append((child, value))
                continue
            blob = files[value]
            flags = 0
            if value in compress:
                blob = struct.pack(">I", len(blob)) + zlib.compress(blob)
                flags = gcompris.COMPRESSED
            entries[index] = struct.pack(">IHHHI", name_offset(child), flags, 0, 0,
                                         len(payload)) + bytes(8)
            payload.extend(struct.pack(">I", len(blob)) + blob)
    tree_bytes = b"".join(entries)
    header = 24
    with open(path, "wb") as f:
        f.write(b"qres" + struct.pack(">IIIII", 3, header, header + len(tree_bytes),
                                      header + len(tree_bytes) + len(payload), 0))
        f.write(tree_bytes + payload + names)


def png(array):
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture
def painting_rcc(tmp_path):
    """A resource file with one board: a 40x30 painting cut into a left and a right piece,
    laid on a 50x40 board, with a transparent margin on the right piece; and the painting."""
    rng = np.random.default_rng(0)
    painting = rng.integers(0, 256, (30, 40, 3), dtype=np.uint8)
    opaque = np.full((30, 20, 1), 255, np.uint8)
    left = np.concatenate([painting[:, :20], opaque], axis=2)
    right = np.concatenate([painting[:, 20:], opaque], axis=2)
    right = np.concatenate([right, np.zeros((30, 4, 4), np.uint8)], axis=1)  # 24 wide
    # The board is 50x40; the painting's top-left corner sits at (5, 5).
    pieces = [("image/test_2.png", (25 + 12) / 50, (5 + 15) / 40),
              ("image/test_1.png", (5 + 10) / 50, (5 + 15) / 40)]
    levels = ",\n".join(f'      {{ "pixmapfile" : "{p}", "x" : "{x:.3f}", "y" : "{y:.3f}" }}'
                        for p, x, y in pieces)
    base = "/gcompris/src/activities/paintings/resource/"
    path = tmp_path / "paintings.rcc"
    write_rcc(path, {base + "board/board1_0.qml": (BOARD % levels).encode(),
                     base + "image/test_1.png": png(left),
                     base + "image/test_2.png": png(right),
                     base + "image/README": b"licence"},
              compress={base + "board/board1_0.qml"})
    return path, painting


def test_a_board_is_reassembled_into_the_painting_pixel_for_pixel(painting_rcc):
    path, painting = painting_rcc
    found = list(gcompris.paintings(path, boards=("test",)))
    assert [title for title, _ in found] == ["Painter, A Test - 1890"]
    np.testing.assert_array_equal(np.asarray(found[0][1]), painting)
    assert list(gcompris.paintings(path)) == []  # not one of the impressionists


def run_module(*args):
    return subprocess.run([sys.executable, "-m", "samples.gcompris", *map(str, args)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)


def test_the_command_writes_the_paintings_and_never_replaces_what_it_did_not_write(
        painting_rcc, tmp_path):
    path, painting = painting_rcc
    out = tmp_path / "paintings"
    done = run_module(path, "--out", out, "--all")
    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir(out)) == ["SOURCE.txt", "painter-a-test-1890.png"]
    np.testing.assert_array_equal(np.asarray(Image.open(out / "painter-a-test-1890.png")),
                                  painting)
    assert "GPL-3.0-or-later" in (out / "SOURCE.txt").read_text()
    assert run_module(path, "--out", out, "--all").returncode == 0  # its own folder: replaced

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "keep.txt").write_text("mine")
    for target, says in [(mine, "did not write"), (tmp_path, "holds an input"),
                         (path, "is an input"),
                         (mine / "keep.txt", "is a file")]:
        refused = run_module(path, "--out", target, "--all")
        assert refused.returncode == 2 and says in refused.stderr, refused.stderr
        assert refused.stderr.count("\n") == 1 and "Traceback" not in refused.stderr
    assert (mine / "keep.txt").read_text() == "mine"
    assert path.exists()

    nothing = run_module(path, "--out", tmp_path / "none")  # no impressionist board in it
    assert nothing.returncode == 2 and "no paintings board" in nothing.stderr
    nothing = run_module(path, "--out", tmp_path / "none", "--other-oils")  # nor oils
    assert nothing.returncode == 2 and "no paintings board" in nothing.stderr
    both = run_module(path, "--out", tmp_path / "none", "--other-oils", "--all")
    assert both.returncode == 2 and "not allowed with" in both.stderr
    not_rcc = tmp_path / "not.rcc"
    not_rcc.write_bytes(b"\x89PNG not a resource file")
    bad = run_module(not_rcc, "--out", tmp_path / "bad")
    assert bad.returncode == 2 and "not a Qt resource file" in bad.stderr
    damaged = tmp_path / "damaged.rcc"
    damaged.write_bytes(path.read_bytes()[:200])
    cut = run_module(damaged, "--out", tmp_path / "cut", "--all")
    assert cut.returncode == 2 and "Traceback" not in cut.stderr, cut.stderr
    assert not any(p.name.startswith(("none", "bad", "cut")) for p in tmp_path.iterdir())


def test_an_interrupted_write_leaves_the_previous_folder(painting_rcc, tmp_path, monkeypatch):
    path, _ = painting_rcc
    out = tmp_path / "paintings"
    assert gcompris.main([str(path), "--out", str(out), "--all"]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(Image.Image, "save", interrupted)
    assert gcompris.main([str(path), "--out", str(out), "--all"]) == 130  # 128 + SIGINT
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["paintings", "paintings.rcc"]


def test_pictures_are_the_large_photos_and_drawings_with_their_credits(tmp_path):
    """--pictures keeps raster pictures of 256 px or more (a transparent drawing on white,
    a large one shrunk to 640 px), skips icons, and copies each activity's README as the
    credits."""
    rng = np.random.default_rng(1)
    photo = rng.integers(0, 256, (270, 480, 3), dtype=np.uint8)
    drawing = np.zeros((300, 300, 4), np.uint8)
    drawing[100:200, 100:200] = (200, 30, 30, 255)  # a red square on a transparent sheet
    icon = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    base = "/gcompris/src/activities/"
    path = tmp_path / "erase.rcc"
    write_rcc(path, {base + "erase/resource/alpaca.webp": png(photo),
                     base + "erase/resource/icon.png": png(icon),
                     base + "erase/resource/wide.png": png(np.zeros((300, 800, 3), np.uint8)),
                     base + "erase/resource/README": b"Copyright: someone\nLicense: CC0-1.0",
                     base + "lang/resource/words/Cat Face.png": png(drawing)},
              compress={base + "erase/resource/README"})
    out = tmp_path / "not-paintings"
    done = run_module("--pictures", path, "--out", out)
    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir(out)) == ["SOURCE.txt", "erase-alpaca.png", "erase-wide.png",
                                       "lang-cat-face.png"]
    assert Image.open(out / "erase-wide.png").size == (640, 240)  # shrunk to 640 px
    np.testing.assert_array_equal(np.asarray(Image.open(out / "erase-alpaca.png")), photo)
    cat = np.asarray(Image.open(out / "lang-cat-face.png"))
    assert (cat[0, 0] == 255).all() and (cat[150, 150] == (200, 30, 30)).all()
    source = (out / "SOURCE.txt").read_text()
    assert "License: CC0-1.0" in source and "== erase" in source
    assert run_module("--pictures", path, "--out", out).returncode == 0  # its own: replaced
    refused = run_module("--pictures", path, "--out", tmp_path)  # holds the input
    assert refused.returncode == 2 and "holds an input" in refused.stderr, refused.stderr
    two = run_module(path, path, "--out", tmp_path / "two")  # paintings: one file only
    assert two.returncode == 2 and "one paintings.rcc" in two.stderr, two.stderr
