"""What the benchmarks say about the machine they ran on: figures compare only within a run,
and only next to the CPU features that decide them."""
import os

from vae.argtypes import parse_finite, value_type

FEATURES = ("avx", "avx2", "fma", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")


def describe():
    """{"device": ..., "cpu_flags": [the vector features present], "auto_precision": what
    --precision auto picks here, and why}."""
    from vae.models import precision

    capability, flags = precision.local_hardware()
    auto, why = precision.choose(capability, flags)
    device = (f"GPU (compute capability {capability[0]}.{capability[1]})" if capability
              else f"CPU ({os.cpu_count()} cores)")
    return {"device": device, "cpu_flags": [f for f in FEATURES if f in flags],
            "auto_precision": auto, "auto_precision_why": why}


@value_type
def precision_list(text):
    """'float32,auto' -> ["float32", "auto"], each a --precision value."""
    from vae.models.precision import PRECISIONS

    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in PRECISIONS]
    if not names or unknown:
        raise ValueError(f"expected precisions among {', '.join(PRECISIONS)}, got {text!r}")
    return names


@value_type
def scale_list(text):
    """'0.5,1' -> [0.5, 1.0], each a --paint-scale in (0, 1]; '' -> []."""
    scales = [parse_finite(part) for part in text.split(",") if part.strip()]
    if any(not 0 < scale <= 1 for scale in scales):
        raise ValueError(f"expected paint scales in (0, 1], got {text!r}")
    return scales
