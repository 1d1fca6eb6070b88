"""The cockpit: a Textual app over a source of events. Never imports torch/transformers/peft/trl."""
