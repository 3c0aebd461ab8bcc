"""Stylising a whole clip into an MP4: the one function process_video.py, the live page's
Render, the benchmarks and the tests all call, so that they write the same frames."""
import os
import time

from vae import InputError
from vae.media import video
from vae.stylize.frame_stylizer import MIN_PAINT_SIDE, FrameStylizer, paint_size
from vae.stylize.settings import RenderOptions
from vae.stylize.stream import clip_mean_code, stylize_stream


def default_output(input_path, output=None):
    """output, or when it is None <input stem>-stylized.mp4 in the current folder."""
    if output is not None:
        return output
    return f"{os.path.splitext(os.path.basename(input_path))[0]}-stylized.mp4"


def check_output(input_path, output, model=None):
    """output, refused (InputError) when it is the input, lies inside the model bundle, is a
    folder, or is in a missing folder."""
    from vae.media.targets import check_target

    check_target(output, "-o", inputs=(input_path, model), what="output video")
    if not os.path.isdir(os.path.dirname(os.path.abspath(output))):
        raise InputError(f"output folder does not exist: {os.path.dirname(output)}")
    return output


def check_excerpt(info, options):
    """InputError when --start/--duration fall outside the clip."""
    if info.duration and options.start >= info.duration:
        raise InputError(f"--start {options.start:g} s is past the end of {info.path} "
                         f"({info.duration:.2f} s)")
    if info.duration and options.duration and \
            options.start + options.duration > info.duration + 0.5:
        raise InputError(f"--start {options.start:g} + --duration {options.duration:g} s runs "
                         f"past the end of {info.path} ({info.duration:.2f} s)")


def render(input_path, output, bundle, settings, options=RenderOptions(), progress=None,
           report=print):
    """Stylise input_path into output with a loaded Bundle; returns the summary row.

    progress(n, total) is called as n more frames are written, with the expected total (None
    when the clip's rate is unknown); an exception it raises stops the run and leaves no file.
    report(line) receives the lines worth showing (the clip's size, a missing refiner)."""
    started = time.time()
    plan = settings.resolve(bundle, options.paint_scale)
    settings = plan.settings  # the paint blend resolved for this bundle
    info = video.probe_video(input_path)
    check_excerpt(info, options)
    check_output(input_path, output, bundle.folder)
    crop = video.clip_crop(info, options.crop)
    width, height = crop.cropped_size(info.width, info.height)
    report(f"{input_path}: {info.width}x{info.height}, {info.fps:g} fps, "
           f"{info.duration:.1f} s, {'audio' if info.has_audio else 'no audio'}; "
           f"crop top,right,bottom,left = {crop}")
    for note in plan.notes:
        report(note)
    painted_size = plan.paint_scale and paint_size(width, height, plan.paint_scale)
    if painted_size and min(painted_size) < MIN_PAINT_SIDE:
        raise InputError("--paint-scale {:g} paints the {}x{} frames at {}x{}: the painter needs "
                         "{} pixels a side; choose a larger --paint-scale".format(
                             plan.paint_scale, width, height, *painted_size, MIN_PAINT_SIDE))
    clip_mean = None
    if settings.source == "auto":
        clip_mean = clip_mean_code(bundle, info, crop, options.start, options.duration)
    transform = FrameStylizer(bundle, plan, plan.shift(bundle, clip_mean))
    full_size = plan.full_size
    frame_size = (width, height) if full_size else (bundle.width, bundle.height)

    if options.inset:
        video.check_inset(width - width % 2, width, height)
    audio = options.audio and info.has_audio
    seconds = options.duration or max(info.duration - options.start, 0)
    total = max(1, round(seconds * info.fps)) if info.fps else None
    with video.VideoWriter(output, *frame_size, info.fps, (width, height),
                           companion=input_path, companion_start=options.start,
                           companion_duration=options.duration, audio=audio,
                           inset_crop=crop if options.inset else None) as writer:
        stream = video.video_frames(info, crop, None if full_size else frame_size,
                                    start=options.start, duration=options.duration)
        count = stylize_stream(stream, transform, writer, options.batch_size,
                               progress=progress and (lambda n: progress(n, total)))
        if count == 0:
            raise InputError(f"no frames in the selected range of {input_path}")
    ended_early = total is not None and count < total - max(2, total // 20)
    if ended_early:
        report(f"warning: {input_path} ended after {count} of its {total} frames "
               f"({count / info.fps:.2f} of {seconds:.2f} s): is the file cut short?")
    elapsed = time.time() - started
    return {"output": output, "frames": count if not ended_early else f"{count} of {total}",
            "size": f"{writer.output_size[0]}x{writer.output_size[1]}", "fps": f"{info.fps:g}",
            "audio": "yes" if audio else "no", "refined": "yes" if plan.refine else "no",
            "alpha": f"{settings.alpha:g}", "beta": f"{settings.beta:g}",
            "detail": f"{settings.detail:g}", "paint": f"{settings.paint:g}",
            "painter": plan.painter or "none",
            "time": f"{elapsed:.1f} s",
            "frames/s": f"{count / elapsed:.1f}"}
