"""Which arithmetic the models run in: float32, or a Keras mixed policy where the hardware has
native support for it.

Mixed policies keep variables in float32 and compute in bfloat16 or float16; the networks
cast their outputs and every loss to float32 (vae/models/autoencoder.py,
vae/models/refiner.py), so checkpoints and bundles are the same whatever the precision. `auto`
picks what the hardware runs natively: bfloat16 on CPUs with AVX512_BF16 or AMX and on GPUs
of compute capability 8.0 and up, float16 on GPUs with tensor cores but no bfloat16 (7.x),
float32 otherwise (float16 on older GPUs and bfloat16 on other CPUs are emulated: slower, not
faster).
"""
import contextlib

PRECISIONS = ("auto", "float32", "bfloat16", "float16")
KERAS_POLICY = {"float32": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}
CPU_BFLOAT16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_flags(path="/proc/cpuinfo"):
    """The CPU's feature flags (empty where /proc/cpuinfo is not there)."""
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def choose(gpu_capability, flags):
    """-> (precision, why) for a GPU's compute capability (major, minor), or None for a CPU
    with these feature flags."""
    if gpu_capability:
        major, minor = gpu_capability
        if major >= 8:
            return "bfloat16", f"GPU of compute capability {major}.{minor}: native bfloat16"
        if major == 7:
            return "float16", f"GPU of compute capability {major}.{minor}: float16 tensor cores"
        return "float32", f"GPU of compute capability {major}.{minor}: no fast half precision"
    native = [f for f in CPU_BFLOAT16_FLAGS if f in flags]
    if native:
        return "bfloat16", f"CPU with {', '.join(native).upper()}: native bfloat16"
    return "float32", "CPU without AVX512_BF16 or AMX: no native bfloat16"


def local_hardware():
    """(compute capability of the first GPU or None, the CPU's flags)."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    capability = None
    if gpus:
        capability = tf.config.experimental.get_device_details(gpus[0]).get(
            "compute_capability", (0, 0))
    return capability, cpu_flags()


def resolve(choice):
    """--precision -> (precision, a line saying what runs and why)."""
    auto, why = choose(*local_hardware())
    if choice == "auto":
        return auto, f"precision: {auto} (auto: {why})"
    note = "" if choice in ("float32", auto) else f"; not native here ({why}), expect it slower"
    return choice, f"precision: {choice}{note}"


@contextlib.contextmanager
def policy(precision):
    """The Keras policy of a precision for the models built inside; the previous one after."""
    import keras

    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(KERAS_POLICY[precision])
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)
