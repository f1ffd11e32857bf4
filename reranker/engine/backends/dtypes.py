"""Which floating-point type to run in: bf16 where the hardware has it, else fp32."""

from __future__ import annotations

import torch

_NAMES = {
    "float32": torch.float32, "fp32": torch.float32,
    "bfloat16": torch.bfloat16, "bf16": torch.bfloat16,
    "float16": torch.float16, "fp16": torch.float16,
}  # fmt: skip


def cpu_supports_bf16() -> bool:
    """True when this CPU has native bf16 matrix instructions (AVX512-BF16 or AMX)."""
    return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())


def resolve_torch_dtype(dtype: str | None, device: str) -> torch.dtype:
    """``None``/"auto": bf16 on a GPU or a bf16-capable CPU, else fp32; otherwise the named type."""
    if dtype in (None, "auto"):
        return torch.bfloat16 if device == "cuda" or cpu_supports_bf16() else torch.float32
    return _NAMES[dtype]
