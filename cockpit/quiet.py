"""Library noise that makes a good result look failed, silenced in the commands that load models for a
one-off job (merge, export). Each filter names one message we have read and judged harmless; nothing
else is hidden, and the trainer's own log keeps everything.

- transformers 5.x warns `is_gradient_checkpointing is deprecated` (a FutureWarning) from inside its own
  `save_pretrained`: nothing the user or we call.
- bitsandbytes logs "Failed to load CPU gemm_4bit_forward from kernels-community" when its optional
  `kernels` package cannot reach the hub: it falls back to its own kernel, which is what runs here anyway.
- the "Loading weights" / "Writing model shards" / "Converting and de-quantizing GGUF tensors" progress
  bars: the command's own progress lines say the same once.
"""

from __future__ import annotations

import logging
import os
import warnings


class _DropKernelsFallback(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "kernels-community" not in record.getMessage()


def quiet_one_off_job() -> None:
    """Call before importing torch/transformers/peft/bitsandbytes."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")  # gguf's "Converting and de-quantizing GGUF tensors" bar too
    warnings.filterwarnings("ignore", message=r".*is_gradient_checkpointing.*is deprecated", category=FutureWarning)
    # A logger's filter sees only the records logged to that very logger: the one that logs it, by name.
    logging.getLogger("bitsandbytes.backends.cpu.ops").addFilter(_DropKernelsFallback())
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # the base install: no model loading in this process at all
        return
    hf_logging.disable_progress_bar()
