"""A user's Trainer script that fails mid-training (its own callback raises at step 3): the run must
end `crashed`, with this traceback in its error event."""

from __future__ import annotations

import sys

from datasets import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer, Trainer, TrainerCallback, TrainingArguments


class Breaks(TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        if state.global_step == 3:
            raise RuntimeError("the user's own code broke at step 3")


def main() -> None:
    model_dir = sys.argv[1]
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    rows = [tokenizer(f"word {i} and word {i + 1}") for i in range(64)]
    data = Dataset.from_list([{"input_ids": r["input_ids"], "labels": r["input_ids"]} for r in rows])
    args = TrainingArguments(
        output_dir=sys.argv[2],
        max_steps=50,
        per_device_train_batch_size=1,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
    )
    Trainer(model=model, args=args, train_dataset=data, callbacks=[Breaks()]).train()


if __name__ == "__main__":
    main()
