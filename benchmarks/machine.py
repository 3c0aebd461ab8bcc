"""What the benchmarks say about the machine they ran on: figures compare only within a run,
and only next to the CPU features that decide them."""
import os

import tensorflow as tf

FEATURES = ("avx", "avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")


def describe():
    """{"device": ..., "cpu_flags": [the vector features present]}."""
    flags = set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    break
    except OSError:
        pass
    gpus = tf.config.list_physical_devices("GPU")
    return {"device": "GPU" if gpus else f"CPU ({os.cpu_count()} cores)",
            "cpu_flags": [f for f in FEATURES if f in flags]}
