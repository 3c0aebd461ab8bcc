"""The latent-space evaluation of a model bundle (evaluate_embeddings.py): reconstructions on
training and held-out frames, salting, swapping, the style shift as a grid, latent health; PNG
grids, report.json and report.md written to a new folder that appears when complete."""
import os
import time

import numpy as np

from vae.media import atomic, storage, targets

SHOW = 6  # frames per picture row
SALT_SIGMAS = (0.0, 0.25, 0.5, 1.0)
REPORT = "report.json"
# report.json's "kind": what marks a folder as a report this script may replace.
REPORT_KIND = "evaluation report"


class Pictures:
    """Writes the report's PNG grids to one folder and remembers them for report.md."""

    def __init__(self, folder):
        self.folder, self.names = folder, {}

    def __call__(self, name, rows):
        from vae.media.gallery import stack_rows, write_png

        write_png(os.path.join(self.folder, f"{name}.png"), stack_rows(rows))
        self.names[name] = f"{name}.png"


def default_out(model):
    """<model>-evaluation, beside the bundle: never inside an input."""
    return os.path.normpath(model) + "-evaluation"


def is_report(folder):
    """True for a folder this script wrote (its report.json says so)."""
    return storage.kind_of(os.path.join(folder, REPORT)) == REPORT_KIND


def evaluate(args):
    """evaluate_embeddings.py: the report of `args` (vae.options.EvaluationOptions) written to its
    folder, its summary printed; -> the exit code."""
    from vae.bundle.loader import Bundle
    from vae.data import datafolder

    started = time.time()
    out = default_out(args.model) if args.out is None else args.out
    bundle = Bundle(args.model)
    manifest = datafolder.load_manifest(args.data)
    targets.check_target(out, "--out", folder=True, replaceable=is_report,
                        what="report of evaluate_embeddings.py",
                        inputs=(args.model, args.data, *(s["path"] for s in manifest["sources"])))
    datafolder.check_frame_size(manifest, args.data, (bundle.width, bundle.height), "the bundle")
    with atomic.writing_folder(out, is_report) as folder:
        report = write_report(args, bundle, manifest, folder)
    print_summary(report, args)
    print(f"wrote {len(report['images'])} images, {REPORT} and report.md to {out} "
          f"in {time.time() - started:.0f} s")
    return 0


def write_report(args, bundle, manifest, out):
    """The report's pictures, report.json and report.md in the folder out; -> the report."""
    from vae.data import records

    rng = np.random.default_rng(args.seed)
    sources = {s["id"]: s for s in manifest["sources"]}
    frames = records.sample_by_source(args.data, manifest, args.samples)
    pictures = Pictures(out)
    codes, log_sigmas, trained = reconstructions(bundle, frames, sources, pictures)
    held_out = held_out_reconstructions(
        bundle, records.sample_by_source(args.data, manifest, args.samples, split="holdout"),
        sources, pictures)
    all_codes = np.concatenate(list(codes.values()))
    all_images = np.concatenate(list(frames.values()))
    pick = rng.choice(len(all_codes), min(SHOW, len(all_codes)), replace=False)
    salting(bundle, all_images[pick], all_codes[pick], rng, pictures)
    swapping(bundle, all_images, all_codes, pick, rng, pictures)
    report = {
        "model": args.model, "data": args.data, "refiner": bundle.has_refiner,
        "samples_per_source": {sources[i]["name"]: len(f) for i, f in frames.items()},
        "sources": trained, "holdout": held_out, "salting_sigmas": list(SALT_SIGMAS),
        "style_shift": style_shift_grid(bundle, frames, codes, sources, args, pictures),
        "latent_health": latent_health(bundle, all_codes,
                                       np.concatenate(list(log_sigmas.values()))),
        "images": pictures.names,
    }
    atomic.write_json(os.path.join(out, REPORT), {"kind": REPORT_KIND, **report})
    write_markdown(os.path.join(out, "report.md"), report)
    return report


def reconstructions(bundle, frames, sources, pictures):
    """Input / VAE / refined of every source's training frames. -> (codes, log sigmas,
    {source name: kind, PSNR and SSIM})."""
    codes, log_sigmas, report = {}, {}, {}
    for source, images in frames.items():
        encoded = bundle.encode(images)
        codes[source] = encoded["z_mean"].numpy()
        log_sigmas[source] = encoded["z_log_sigma"].numpy()
        decoded, refined, metrics = reconstruction_metrics(bundle, images, codes[source])
        name = sources[source]["name"]
        report[name] = {"kind": sources[source]["kind"], **metrics}
        pictures(f"reconstruction-{name}", [images[:SHOW], decoded[:SHOW], refined[:SHOW]])
    return codes, log_sigmas, report


def held_out_reconstructions(bundle, frames, sources, pictures):
    """The same on held-out frames, with the sharpness of real, VAE and refined frames."""
    from vae.metrics import quality

    report = {}
    for source, images in frames.items():
        decoded, refined, metrics = reconstruction_metrics(
            bundle, images, bundle.encode(images)["z_mean"].numpy())
        metrics.update({"frames": len(images), "sharpness_real": quality.sharpness(images),
                        "sharpness_vae": quality.sharpness(decoded),
                        "sharpness_refined": quality.sharpness(refined)})
        name = sources[source]["name"]
        report[name] = {"kind": sources[source]["kind"], **metrics}
        pictures(f"holdout-{name}", [images[:SHOW], decoded[:SHOW], refined[:SHOW]])
    return report


def salting(bundle, images, codes, rng, pictures):
    """Gaussian noise of growing sigma added to the codes: slightly new images."""
    from vae.metrics import latent_space

    pictures("salting", [images] + [
        bundle.refine(bundle.decode(latent_space.salt(codes, sigma, rng))).numpy()
        for sigma in SALT_SIGMAS])


def swapping(bundle, images, codes, pick, rng, pictures):
    """Halves of the code swapped between pairs of frames, and dimensions shuffled."""
    from vae.metrics import latent_space

    a, b = codes[pick], codes[np.roll(pick, 1)]
    first, second = latent_space.swap_halves(a, b)
    pictures("swapping", [images[pick], images[np.roll(pick, 1)]] + [
        bundle.refine(bundle.decode(z)).numpy()
        for z in (first, second, latent_space.shuffle_between(a, rng))])


def detail_transfer(stylized, images):
    """The formula with detail on frames at the model's size, as uint8 values (what a video
    frame holds), back in [0, 1]."""
    from vae.media.gallery import to_uint8

    return to_uint8(stylized.with_detail(images).numpy()).astype(np.float32) / 255


def style_shift_grid(bundle, frames, codes, sources, args, pictures):
    """Every video source's first frame over a grid of alpha and beta, plus a detail-transfer
    row, and how far the shift moves the source's codes toward the paintings' mean."""
    from vae.bundle.means import style_shift
    from vae.metrics import latent_space

    means = bundle.means
    style = means.style_mean() if means.names_of("painting") else None
    alphas = [0.0, args.alpha / 2, args.alpha, 2 * args.alpha]
    betas = [0.0, args.beta / 2, args.beta, 2 * args.beta]
    report = {"alphas": alphas, "betas": betas, "alpha": args.alpha, "beta": args.beta,
              "detail": args.detail, "sources": {}}
    for source, images in frames.items():
        name = sources[source]["name"]
        if sources[source]["kind"] != "video" or style is None:
            continue
        source_mean = means.mean(name)
        first = np.repeat(images[:1], len(betas), 0)
        grid = []
        for alpha in alphas:
            shifts = np.stack([style_shift(source_mean, style, alpha, beta) for beta in betas])
            grid.append(bundle.stylize(first, shifts).styled.numpy())
        shifts = np.stack([style_shift(source_mean, style, args.alpha, beta) for beta in betas])
        grid.append(detail_transfer(bundle.stylize(first, shifts, args.detail), first))
        shifted = codes[source] + style_shift(source_mean, style, args.alpha, args.beta)
        report["sources"][name] = {
            "distance_to_paintings_before": float(np.mean(np.linalg.norm(codes[source] - style,
                                                                         axis=1))),
            "distance_to_paintings_after": float(np.mean(np.linalg.norm(shifted - style,
                                                                        axis=1))),
            "fraction_moved_toward_paintings": latent_space.move_toward(codes[source], shifted,
                                                                        style),
        }
        pictures(f"style-shift-{name}", [first] + grid)
    return report


def latent_health(bundle, codes, log_sigmas):
    """KL per dimension, active units and the distances between the sources' mean codes."""
    from vae.metrics import latent_space

    kl = latent_space.kl_per_dimension(codes, log_sigmas)
    means = bundle.means
    distances = np.linalg.norm(means.means[:, None] - means.means[None], axis=-1)
    return {
        "code_size": bundle.code_size, "kl_total_mean": float(kl.sum()),
        "kl_per_dimension_max": float(kl.max()),
        "dimensions_with_kl_above_0.01": int(np.sum(kl > 0.01)),
        "active_units": latent_space.active_units(codes),
        "source_mean_distances": {n: {m: round(float(distances[i, j]), 4)
                                      for j, m in enumerate(means.names)}
                                  for i, n in enumerate(means.names)},
    }


def print_summary(report, args):
    from vae.console import format_table

    print(format_table(["source", "kind", "PSNR VAE", "PSNR refined", "SSIM VAE",
                        "SSIM refined"], [
        (n, r["kind"], f"{r['psnr_vae']:.2f}", f"{r['psnr_refined']:.2f}",
         f"{r['ssim_vae']:.3f}", f"{r['ssim_refined']:.3f}")
        for n, r in report["sources"].items()]))
    if report["holdout"]:
        print(format_table(
            ["held out", "frames", "PSNR VAE", "PSNR refined", "SSIM VAE", "SSIM refined",
             "sharpness real", "VAE", "refined"],
            [(n, r["frames"], f"{r['psnr_vae']:.2f}", f"{r['psnr_refined']:.2f}",
              f"{r['ssim_vae']:.3f}", f"{r['ssim_refined']:.3f}", f"{r['sharpness_real']:.5f}",
              f"{r['sharpness_vae']:.5f}", f"{r['sharpness_refined']:.5f}")
             for n, r in report["holdout"].items()]))
    else:
        print(f"{args.data} has no held-out frames: the figures above are on training frames "
              "only (re-extract with extract_frames.py --holdout to measure on unseen frames)")
    health = report["latent_health"]
    print(f"active units {health['active_units']} of {health['code_size']}, "
          f"mean KL {health['kl_total_mean']:.2f}")
    for name, shift in report["style_shift"]["sources"].items():
        print(f"style shift alpha={args.alpha:g} beta={args.beta:g} on {name}: "
              f"{shift['fraction_moved_toward_paintings']:.0%} of the way to the paintings' mean")


def reconstruction_metrics(bundle, images, codes):
    """(VAE output, refined output, PSNR and SSIM of both against the input frames)."""
    from vae.metrics import quality

    decoded = bundle.decode(codes).numpy()
    refined = bundle.refine(decoded).numpy()
    return decoded, refined, {
        "psnr_vae": quality.psnr(images, decoded), "ssim_vae": quality.ssim(images, decoded),
        "psnr_refined": quality.psnr(images, refined),
        "ssim_refined": quality.ssim(images, refined)}


def write_markdown(path, report):
    lines = ["# Latent-space evaluation", "",
             f"Model `{report['model']}` on data `{report['data']}`"
             f"{'' if report['refiner'] else ' (no refiner: refined = VAE output)'}.", "",
             "## Reconstruction", "",
             "| source | kind | PSNR VAE | PSNR refined | SSIM VAE | SSIM refined |",
             "| --- | --- | --- | --- | --- | --- |"]
    for name, r in report["sources"].items():
        lines.append(f"| {name} | {r['kind']} | {r['psnr_vae']:.2f} | {r['psnr_refined']:.2f} | "
                     f"{r['ssim_vae']:.3f} | {r['ssim_refined']:.3f} |")
    lines.append("")
    for name in report["sources"]:
        picture = report["images"][f"reconstruction-{name}"]
        lines += [f"![{name}: input / VAE / refined]({picture})", ""]
    lines += ["## Held-out frames", ""]
    if report["holdout"]:
        lines += ["Frames kept out of training (extract_frames.py --holdout): what the model "
                  "does with frames it never saw. Sharpness: variance of the Laplacian of luma.",
                  "", "| source | frames | PSNR VAE | PSNR refined | SSIM VAE | SSIM refined | "
                  "sharpness real | VAE | refined |", "|" + " --- |" * 9]
        for name, r in report["holdout"].items():
            lines.append(f"| {name} | {r['frames']} | {r['psnr_vae']:.2f} | "
                         f"{r['psnr_refined']:.2f} | {r['ssim_vae']:.3f} | "
                         f"{r['ssim_refined']:.3f} | {r['sharpness_real']:.5f} | "
                         f"{r['sharpness_vae']:.5f} | {r['sharpness_refined']:.5f} |")
        lines.append("")
        for name in report["holdout"]:
            lines += [f"![held-out {name}: input / VAE / refined]"
                      f"({report['images'][f'holdout-{name}']})", ""]
    else:
        lines += [f"`{report['data']}` has no held-out frames, so every figure here is on "
                  "frames the model trained on. Re-extract with `extract_frames.py --holdout "
                  "FRACTION` to measure on frames it never saw.", ""]
    lines += ["## Salting", "", f"Rows: input, then codes + N(0, sigma^2) noise for sigma = "
              f"{', '.join(map(str, report['salting_sigmas']))}.", "",
              f"![salting]({report['images']['salting']})", "",
              "## Swapping", "", "Rows: frame A, frame B, A's first half + B's second half, "
              "B's first half + A's second half, every dimension from a random frame.", "",
              f"![swapping]({report['images']['swapping']})", "", "## Style shift", "",
              f"Rows: alpha = {report['style_shift']['alphas']}; columns: beta = "
              f"{report['style_shift']['betas']} (first row: the input frame; last row: alpha = "
              f"{report['style_shift']['alpha']} with detail transfer, detail = "
              f"{report['style_shift']['detail']}).", "",
              "| source | distance to paintings' mean before | after | fraction moved |",
              "| --- | --- | --- | --- |"]
    for name, s in report["style_shift"]["sources"].items():
        lines.append(f"| {name} | {s['distance_to_paintings_before']:.3f} | "
                     f"{s['distance_to_paintings_after']:.3f} | "
                     f"{s['fraction_moved_toward_paintings']:.0%} |")
    lines.append("")
    for name in report["style_shift"]["sources"]:
        lines += [f"![style shift {name}]({report['images'][f'style-shift-{name}']})", ""]
    health = report["latent_health"]
    lines += ["## Latent health", "", f"- active units (variance of z_mean > 0.01): "
              f"{health['active_units']} of {health['code_size']}",
              f"- mean KL per frame: {health['kl_total_mean']:.3f}; dimensions with KL > 0.01: "
              f"{health['dimensions_with_kl_above_0.01']}", ""]
    names = list(health["source_mean_distances"])
    lines += ["| distance | " + " | ".join(names) + " |", "|" + " --- |" * (len(names) + 1)]
    for name in names:
        lines.append(f"| {name} | " + " | ".join(
            f"{health['source_mean_distances'][name][m]:.3f}" for m in names) + " |")
    atomic.write_text(path, "\n".join(lines) + "\n")
