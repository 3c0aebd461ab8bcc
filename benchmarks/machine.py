"""What the benchmarks say about the machine they ran on: figures compare only within a run,
and only next to the CPU features that decide them."""
import os

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
