"""lora-cockpit: a keyboard-driven terminal cockpit for LoRA / QLoRA fine-tuning."""

__version__ = "0.1.0"
