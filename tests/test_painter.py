"""The painter: its network and losses on tiny models, train_painter.py run as a user runs it
(resume, both optimizers), its export into the bundle, and process_video.py --paint."""
import json
import os

import numpy as np
import pytest
import tensorflow as tf

from helpers import make_clip, read_all, run_main, run_script

TINY_PAINTER = ["--filters", "4", "--residual-blocks", "1", "--discriminator-filters", "4,8",
                "--discriminator-kernel", "3", "--batch-size", "8", "--preview-every", "1000"]


def tiny_players():
    from vae.models import adversarial, painter
    from vae.models.configs import DiscriminatorConfig, PainterConfig

    return (painter.build_painter(PainterConfig(4, 1)),
            adversarial.build_discriminator(DiscriminatorConfig((4, 8), 3)))


def train_on(images, updates, loss_terms, steps):
    """Steps of vae.train.distributed_step on one fixed batch; -> metrics per step."""
    from vae.train.distributed_step import make_train_step

    step = make_train_step(tf.distribute.get_strategy(), updates, loss_terms, len(images))
    iterator = iter(tf.data.Dataset.from_tensors({"image": images}).repeat())
    return [{k: float(v) for k, v in step(iterator).items()} for _ in range(steps)]


def smooth_images(count, seed=0):
    """Blurry random colour fields (24x32), stand-ins for the bundle's stylised frames."""
    rng = np.random.default_rng(seed)
    small = rng.uniform(0, 1, (count, 3, 4, 3)).astype(np.float32)
    return tf.image.resize(small, (24, 32), "bilinear")


def test_painter_paints_any_size_and_keeps_it():
    net, _ = tiny_players()
    from vae.models.painter import paint

    for height, width in ((18, 32), (37, 50), (4, 4)):
        images = tf.random.uniform([2, height, width, 3])
        painted = paint(net, images)
        assert painted.shape == (2, height, width, 3)
        assert float(tf.reduce_min(painted)) >= 0 and float(tf.reduce_max(painted)) <= 1


def test_a_painter_run_from_before_the_activation_keeps_relu():
    from vae.models.configs import PainterConfig

    assert PainterConfig.from_dict({"filters": 4, "residual_blocks": 1}).activation == "relu"
    assert PainterConfig().activation == "leaky_relu"
    with pytest.raises(ValueError, match="unknown painter activation"):
        PainterConfig(activation="swish")


def test_pretraining_gives_the_identity():
    import keras

    from vae.models.painter import identity_terms, paint
    from vae.train.recipe import Update

    keras.utils.set_random_seed(0)
    net, _ = tiny_players()
    images = smooth_images(8)
    before = float(tf.reduce_mean(tf.abs(paint(net, images) - images)))
    history = train_on(images, [Update(keras.optimizers.Adam(3e-3), 3e-3,
                                       net.trainable_variables, loss_name="identity_loss")],
                       lambda batch: identity_terms(net, batch["image"]), 150)
    after = float(tf.reduce_mean(tf.abs(paint(net, images) - images)))
    unseen = smooth_images(4, seed=1)
    assert history[-1]["identity_loss"] < history[0]["identity_loss"]
    assert after < 0.02 < before
    assert float(tf.reduce_mean(tf.abs(paint(net, unseen) - unseen))) < 0.03  # learnt, not kept


def test_each_player_lowers_its_own_loss():
    import keras

    from vae.models import painter
    from vae.models.configs import PainterObjective
    from vae.train.recipe import Update

    keras.utils.set_random_seed(0)
    net, discriminator = tiny_players()
    inputs = smooth_images(8)
    paintings = tf.random.uniform([8, 24, 32, 3])  # "brushwork": pixel noise
    objective = PainterObjective("adversarial", adversarial_weight=1.0)
    terms = lambda batch: painter.loss_terms(  # noqa: E731
        net, batch["image"], objective, training=True, discriminator=discriminator,
        paintings=paintings)
    d_update = Update(keras.optimizers.Adam(2e-3, beta_1=0.5), 2e-3,
                      discriminator.trainable_variables, painter.DISCRIMINATOR_TERMS,
                      "discriminator_loss")
    painter_before = [w.numpy() for w in net.weights]
    history = train_on(inputs, [d_update], terms, 40)
    assert np.mean([h["discriminator_loss"] for h in history[-5:]]) < \
        np.mean([h["discriminator_loss"] for h in history[:5]])
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(painter_before, net.weights))
    g_update = Update(keras.optimizers.Adam(2e-3, beta_1=0.5), 2e-3, net.trainable_variables,
                      ("adversarial",), "painter_loss")
    discriminator_before = [w.numpy() for w in discriminator.weights]
    history = train_on(inputs, [g_update], terms, 40)
    assert np.mean([h["adversarial"] for h in history[-5:]]) < \
        np.mean([h["adversarial"] for h in history[:5]])
    assert all(np.array_equal(a, w.numpy())
               for a, w in zip(discriminator_before, discriminator.weights))


def test_the_temporal_term_sees_strokes_that_boil():
    """Painting a moved frame as the moved painting costs nothing; noise that does not move
    with the frame does."""
    from vae.models import augment

    images = smooth_images(4)
    moved, matrices = augment.random_motion(images)
    still = tf.reduce_mean(tf.abs(augment.affine(images, matrices) - moved))
    noise = tf.random.uniform(images.shape, -0.2, 0.2)
    boiling = tf.reduce_mean(tf.abs(augment.affine(images + noise, matrices) - (moved + noise)))
    assert float(still) < 1e-6 and float(boiling) > 0.05


def test_the_feature_term_compares_structure_in_the_encoders_space():
    """0 for the input itself; a shift of the whole frame (same texture, moved structure)
    costs more than faint pixel noise; the painter's gradient reaches it at any crop size."""
    from vae.models import autoencoder, painter
    from vae.models.configs import VAEConfig

    encoder = autoencoder.build_encoder(VAEConfig(32, 24, (4, 8, 8), (3, 3, 3), 8))
    features = painter.encoder_features(encoder, 2)
    images = smooth_images(4)
    noisy = images + tf.random.uniform(images.shape, -0.02, 0.02)
    moved = tf.roll(images, 8, axis=2)
    distance = lambda other: painter.feature_distance(features, other, images)  # noqa: E731
    assert float(tf.reduce_max(distance(images))) == 0.0
    assert float(tf.reduce_min(distance(moved))) > 5 * float(tf.reduce_max(distance(noisy)))
    net, _ = tiny_players()
    crops = images[:, :16, :20]
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(painter.feature_distance(features, painter.paint(net, crops),
                                                       crops))
    gradients = tape.gradient(loss, net.trainable_variables)
    assert all(g is not None for g in gradients) and float(tf.linalg.global_norm(gradients)) > 0


def test_a_collapse_stops_training():
    from vae.train.painter_recipe import Collapse, CollapseWatch

    watch = CollapseWatch(window=3, floor=0.01)
    assert watch(1, {"spread": 0.005}) == [] and watch(2, {"spread": 0.2}) == []
    watch(3, {"spread": 0.0})
    watch(4, {"spread": 0.0})
    with pytest.raises(Collapse, match="collapsed at step 5"):
        watch(5, {"spread": 0.0})
    # black but for a bright border: spread enough, the mean colour far from the input's
    drifting = CollapseWatch(window=3, floor=0.01, drift=0.3)
    assert drifting(1, {"spread": 0.2, "colour_drift": 0.5}) == []
    assert drifting(2, {"spread": 0.2, "colour_drift": 0.1}) == []  # back: counting restarts
    drifting(3, {"spread": 0.2, "colour_drift": 0.5})
    drifting(4, {"spread": 0.2, "colour_drift": 0.5})
    with pytest.raises(Collapse, match="mean colour"):
        drifting(5, {"spread": 0.2, "colour_drift": 0.5})


def paint_run(runs, logdir, *args, runner=run_script):
    """train_painter.py on the shared tiny bundle: as a subprocess, or in this process."""
    return runner("train_painter.py", "--model", runs["bundle"], "--data", runs["data"],
                  "--logdir", logdir, *TINY_PAINTER, *args)


def optimizer_iterations(path):
    reader = tf.train.load_checkpoint(path)
    return {name.split("/")[0]: int(reader.get_tensor(name))
            for name, _ in tf.train.list_variables(path)
            if name.split("/")[0].endswith("optimizer") and "iterations" in name}


@pytest.fixture(scope="module")
def painted(runs, tmp_path_factory):
    """A tiny painter run (3 pre-training + 4 + 4 steps, resumed once) and the bundle that
    holds it."""
    root = tmp_path_factory.mktemp("painter")
    logdir = root / "painter"
    # both objectives at once, and the encoder's term too: every piece is saved and resumed
    terms = ["--objective", "both", "--feature-weight", "1", "--feature-layers", "2",
             "--style-weight", "2", "--content-target", "frame"]
    first = paint_run(runs, logdir, "--pretrain-steps", "3", "--steps", "4", *terms)
    second = paint_run(runs, logdir, "--pretrain-steps", "3", "--steps", "8", *terms,
                       runner=run_main)
    bundle = root / "bundle"
    export = run_main("export_graph.py", "--vae", runs["vae"], "--refiner", runs["refiner"],
                      "--data", runs["data"], "--painter", logdir, "--out", bundle)
    return {"logdir": logdir, "first": first, "second": second, "bundle": str(bundle),
            "export": export}


def test_train_painter_resumes_both_players(painted):
    first, second, logdir = painted["first"], painted["second"], painted["logdir"]
    assert first.returncode == 0, first.stderr
    assert "pretraining done at step 3" in first.stdout
    assert second.returncode == 0, second.stderr
    assert f"resuming {logdir} from step 7" in second.stdout
    # --steps may change on resume: the run's record says from which step it held
    config = json.loads((logdir / "config.json").read_text())
    assert config["training"]["steps"] == 8
    assert config["resumed"] == [{"step": 7, "changed": {"steps": {"before": 4, "now": 8}}}]
    assert "options changed when this run resumed: --steps 4 -> 8" in second.stdout
    # the pre-training's 3 steps, then 8 adversarial steps of each player, counted on across
    # the resume: both optimizers' states came back
    assert optimizer_iterations(str(logdir / "ckpt-11")) == {
        "pretrain_optimizer": 3, "optimizer": 8, "discriminator_optimizer": 8}
    config = json.loads((logdir / "config.json").read_text())
    assert config["kind"] == "painter" and config["model"] == {
        "filters": 4, "residual_blocks": 1, "activation": "leaky_relu"}
    assert config["bundle"]["vae_step"] == 40
    training = config["training"]
    assert (training["feature_weight"], training["feature_layers"]) == (1, 2)
    assert (training["objective"], training["style_weight"], training["content_target"]) == (
        "both", 2, "frame")
    assert config["discriminator"] == {"filters": [4, 8], "kernel": 3}
    assert (logdir / "preview.png").exists() and (logdir / "progress.mp4").exists()


def test_the_perceptual_default_trains_without_a_discriminator(runs, tmp_path):
    from vae.models.configs import PainterObjective

    logdir = tmp_path / "painter"
    result = paint_run(runs, logdir, "--pretrain-steps", "2", "--steps", "3", runner=run_main)
    assert result.returncode == 0, result.stderr
    assert "target of the style term" in result.stdout
    config = json.loads((logdir / "config.json").read_text())
    assert config["discriminator"] is None
    training = config["training"]
    assert training["objective"] == "perceptual" and training["content_target"] == "input"
    for name in ("style_weight", "perceptual_content_weight", "total_variation_weight"):
        assert training[name] == getattr(PainterObjective, name)
    assert optimizer_iterations(str(logdir / "ckpt-5")) == {"pretrain_optimizer": 2,
                                                            "optimizer": 3}
    for term in ("style", "perceptual_content", "total_variation"):
        assert f"{term}" in result.stdout, result.stdout
    # the same run folder does not resume as another objective, and says so
    again = paint_run(runs, logdir, "--pretrain-steps", "2", "--steps", "4", "--objective",
                      "adversarial", runner=run_main)
    assert again.returncode == 2, again.stderr
    assert "--objective was perceptual, now adversarial" in again.stderr, again.stderr


def test_a_painter_resumes_only_as_the_run_it_is(painted, runs, tmp_path):
    """Its objective's weights and the bundle it repaints cannot change when it resumes: each
    change is named with both values, and the run folder stays as it was."""
    from helpers import folder_digest

    logdir = painted["logdir"]
    before = folder_digest(logdir)
    terms = ["--pretrain-steps", "3", "--steps", "9", "--objective", "both",
             "--feature-weight", "1", "--feature-layers", "2", "--content-target", "frame"]
    result = paint_run(runs, logdir, *terms, "--style-weight", "3", runner=run_main)
    assert result.returncode == 2, result.stderr
    assert "--style-weight was 2.0, now 3.0" in result.stderr, result.stderr
    # the same bundle exported again without its refiner: the painter's inputs would change
    unrefined = tmp_path / "unrefined"
    export = run_main("export_graph.py", "--vae", runs["vae"], "--no-refiner", "--data",
                      runs["data"], "--out", unrefined)
    assert export.returncode == 0, export.stderr
    result = run_main("train_painter.py", "--model", unrefined, "--data", runs["data"],
                      "--logdir", logdir, *TINY_PAINTER, *terms, "--style-weight", "2")
    assert result.returncode == 2, result.stderr
    assert f"--model was {runs['bundle']}, now {unrefined}" in result.stderr
    assert "refine: was True, now False" in result.stderr, result.stderr
    assert folder_digest(logdir) == before


def test_the_bundle_with_a_painter_round_trips(painted, runs):
    from vae.bundle.loader import Bundle
    from vae.models.painter import paint
    from vae.train.run_folder import load_painter

    export = painted["export"]
    assert export.returncode == 0, export.stderr
    assert "check saved_model paint" in export.stdout and "check frozen paint" in export.stdout
    assert "painter step 11" in export.stdout
    bundle = Bundle(painted["bundle"])
    assert bundle.has_painter and not Bundle(runs["bundle"]).has_painter
    images = tf.random.uniform([2, 20, 30, 3])  # not the model's size: the painter takes any
    expected = paint(load_painter(str(painted["logdir"])).net, images)
    assert float(tf.reduce_max(tf.abs(bundle.paint(images) - expected))) < 1e-5
    rebuilt = Bundle(painted["bundle"], "bfloat16")
    assert float(tf.reduce_max(tf.abs(rebuilt.paint(images) - expected))) < 0.05


def test_paint_0_is_todays_output_and_paint_1_repaints_it(painted, runs, tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", 64, 36, seconds=1)
    outputs = {}
    for name, bundle, flags in (("today", runs["bundle"], ["--paint", "0"]),
                                ("zero", painted["bundle"], ["--paint", "0"]),
                                ("one", painted["bundle"], ["--painter", "trained"])):
        outputs[name] = tmp_path / f"{name}.mp4"
        result = run_main("process_video.py", clip, "-o", outputs[name], "--model", bundle,
                          *flags)
        assert result.returncode == 0, result.stderr
    today, zero, one = (read_all(outputs[n]) for n in ("today", "zero", "one"))
    assert np.array_equal(today, zero)
    assert np.abs(one - today).mean() > 0.5  # (of 255) the painter's untrained residual shows


@pytest.mark.parametrize("args, message", [
    (["--crop", "6"], "--crop must be 0 or a positive multiple of 4"),
    (["--crop", "40"], "--crop 40 is larger than the frames (32x18)"),
    (["--pretrain-steps", "-1"], "argument --pretrain-steps: expected an integer >= 0"),
    (["--residual-blocks", "-1"], "argument --residual-blocks: expected an integer >= 0"),
    (["--adversarial-weight", "-1"], "--adversarial-weight"),
    (["--objective", "gatys"], "--objective"),
    (["--content-target", "nowhere"], "--content-target"),
    (["--style-weight", "nan"], "--style-weight"),
    (["--total-variation-weight", "-2"], "--total-variation-weight"),
    (["--pool", "40"], "--pool 40 is larger than the painter's frames (18 pixels)"),
    (["--feature-weight", "1", "--feature-layers", "9"],
     "--feature-layers 9: the bundle's encoder has 3 conv layers"),
])
def test_train_painter_refuses_bad_flags(runs, tmp_path, args, message):
    result = run_main("train_painter.py", "--model", runs["bundle"], "--data", runs["data"],
                      "--logdir", tmp_path / "run", *TINY_PAINTER, *args)
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert not (tmp_path / "run").exists()


def test_train_painter_needs_paintings_and_a_bundle(runs, media, tmp_path):
    data = tmp_path / "frames-only"
    result = run_main("extract_frames.py", "--out", data, "--size", "32x18", "--video",
                      media["letterbox"])
    assert result.returncode == 0, result.stderr
    result = run_main("train_painter.py", "--model", runs["bundle"], "--data", data,
                      "--logdir", tmp_path / "run", *TINY_PAINTER)
    assert result.returncode == 2 and "holds no paintings" in result.stderr, result.stderr
    result = run_main("train_painter.py", "--model", runs["vae"], "--data", runs["data"],
                      "--logdir", tmp_path / "run2", *TINY_PAINTER)
    assert result.returncode == 2 and "not a complete model bundle" in result.stderr, \
        result.stderr


def test_style_width_needs_readable_painting_files(runs, media, tmp_path):
    """The painting files were readable when extracted and are not any more: one line."""
    import shutil

    paintings = tmp_path / "paintings"  # the source names of the shared bundle
    paintings.mkdir()
    shutil.copy(os.path.join(media["paintings"], "landscape.png"), paintings)
    data = tmp_path / "data"
    result = run_main("extract_frames.py", "--out", data, "--size", "32x18", "--paintings",
                      paintings, "--video", media["letterbox"], "--holdout", "0")
    assert result.returncode == 0, result.stderr
    (paintings / "landscape.png").write_bytes(b"damaged since")
    result = run_main("train_painter.py", "--model", runs["bundle"], "--data", data,
                      "--logdir", tmp_path / "run", *TINY_PAINTER, "--style-width", "64")
    assert result.returncode == 2, result.stderr
    assert f"{paintings} hold no readable image" in result.stderr, result.stderr
    assert not (tmp_path / "run").exists()


def test_paint_needs_a_painter_and_a_range(runs, painted, vae_run, tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", 64, 36, seconds=1)
    result = run_main("process_video.py", clip, "-o", tmp_path / "out.mp4", "--model",
                      runs["bundle"], "--paint", "0.5", "--painter", "trained")
    assert result.returncode == 2, result.stderr
    assert "--paint 0.5 needs a bundle with a painter" in result.stderr
    result = run_main("process_video.py", clip, "-o", tmp_path / "out.mp4", "--model",
                      painted["bundle"], "--paint", "2")
    assert result.returncode == 2 and "paint must be a number in [0, 1]" in result.stderr
    assert not (tmp_path / "out.mp4").exists()
    # a painter trained on another VAE's output is refused at export
    data, other_vae = vae_run
    result = run_main("export_graph.py", "--vae", other_vae, "--no-refiner", "--data", data,
                      "--painter", painted["logdir"], "--out", tmp_path / "bundle")
    assert result.returncode == 2 and "trained on the output of VAE step 40" in result.stderr, \
        result.stderr


def test_paint_scale_chooses_the_size_the_painter_paints_at(painted):
    from vae.bundle.loader import Bundle
    from vae.media.gallery import to_uint8
    from vae.stylize.frame_stylizer import FrameStylizer
    from vae.stylize.settings import StylePlan, StyleSettings

    bundle = Bundle(painted["bundle"])
    shift = np.zeros(bundle.code_size, np.float32)
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (2, 2 * bundle.height, 2 * bundle.width, 3), np.uint8)

    def stylise(paint, scale=None):
        settings = StyleSettings(detail=0.7, smoothing=0.0, paint=paint, painter="trained")
        return FrameStylizer(bundle, settings.resolve(bundle, scale), shift)(frames)

    today = stylise(0.0)
    at_model_size = stylise(1.0)
    # half of this clip's size is the model's: the same frames as the default
    np.testing.assert_array_equal(stylise(1.0, 0.5), at_model_size)
    # at full size the painter repaints the frames themselves, with no resize on either side
    expected = to_uint8(bundle.paint(today / np.float32(255)).numpy())
    assert np.abs(stylise(1.0, 1.0).astype(int) - expected).max() <= 1
    assert np.abs(stylise(1.0, 1.0).astype(int) - at_model_size).mean() > 0.5
    # a paint scale resolves to frames at the output's size, even without detail
    trained = StyleSettings(detail=0.0, paint=1.0, painter="trained")
    assert trained.resolve(bundle, 0.5).full_size
    with pytest.raises(ValueError, match="needs frames at the output size"):
        FrameStylizer(bundle, StylePlan(trained, refine=True, full_size=False, paint_scale=0.5,
                                        painter="trained"), shift)


def test_process_video_paint_scale(painted, tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", 64, 36, seconds=1)
    outputs = {}
    for name, extra in (("model", []), ("full", ["--paint-scale", "1"]),
                        ("full-no-detail", ["--paint-scale", "1", "--detail", "0"])):
        outputs[name] = tmp_path / f"{name}.mp4"
        result = run_main("process_video.py", clip, "-o", outputs[name], "--model",
                          painted["bundle"], "--painter", "trained", *extra)
        assert result.returncode == 0, result.stderr
    model, full, no_detail = (read_all(outputs[n]) for n in ("model", "full", "full-no-detail"))
    assert model.shape == full.shape == no_detail.shape and model.shape[1:3] == (36, 64)
    assert np.abs(full - model).mean() > 0.5
    for bad in ("0", "1.5", "nan"):
        result = run_main("process_video.py", clip, "-o", tmp_path / "bad.mp4", "--model",
                          painted["bundle"], "--paint", "1", "--paint-scale", bad)
        assert result.returncode == 2 and "--paint-scale" in result.stderr, result.stderr
    assert not (tmp_path / "bad.mp4").exists()
