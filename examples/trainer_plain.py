"""A plain `transformers.Trainer` script: causal-LM LoRA on text, with peft, no TRL.

    cockpit run -- python examples/trainer_plain.py --model MODEL_DIR --data data.jsonl --output out

Or with the callback written into the script (no `cockpit run`): pass --cockpit, and watch it with
`cockpit attach runs/<name>-<stamp>` (the directory is printed when training begins).
"""

from __future__ import annotations

import argparse

from datasets import load_dataset
from peft import LoraConfig, get_peft_model
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    DataCollatorForLanguageModeling,
    Trainer,
    TrainingArguments,
)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--output", default="trainer-out")
    p.add_argument("--max-steps", type=int, default=200)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--cockpit", action="store_true", help="add CockpitCallback in the script itself")
    a = p.parse_args()

    tokenizer = AutoTokenizer.from_pretrained(a.model)
    model = get_peft_model(
        AutoModelForCausalLM.from_pretrained(a.model),
        LoraConfig(r=8, lora_alpha=16, lora_dropout=0.05, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"),
    )

    def tokenize(row):
        text = f"{row['instruction']}\n{row['input']}\n{row['output']}{tokenizer.eos_token}"
        return tokenizer(text, truncation=True, max_length=64)

    data = load_dataset("json", data_files=a.data, split="train")
    data = data.map(tokenize, remove_columns=data.column_names)
    args = TrainingArguments(
        output_dir=a.output,
        max_steps=a.max_steps,
        learning_rate=a.lr,
        lr_scheduler_type="constant",
        per_device_train_batch_size=8,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
    )
    callbacks = []
    if a.cockpit:
        from cockpit.callback import CockpitCallback

        callbacks.append(CockpitCallback())
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=data,
        data_collator=DataCollatorForLanguageModeling(tokenizer, mlm=False),
        processing_class=tokenizer,
        callbacks=callbacks,
    )
    trainer.train()
    trainer.save_model(a.output)


if __name__ == "__main__":
    main()
