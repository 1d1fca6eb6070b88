"""A plain TRL SFTTrainer script with LoRA: nothing in it knows the cockpit.

    cockpit run -- python examples/sft_trl.py --model MODEL_DIR --data data.jsonl --output out
    cockpit run --detach -- torchrun --nproc_per_node 2 examples/sft_trl.py --model MODEL_DIR ...

`data.jsonl`: rows of `instruction`, `input`, `output` (alpaca style), turned into chat messages here.
The adapter is saved to --output when training ends (also after a stop from the cockpit).
"""

from __future__ import annotations

import argparse

from datasets import load_dataset
from peft import LoraConfig
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import SFTConfig, SFTTrainer


def to_messages(row):
    user = row["instruction"] + ("\n" + row["input"] if row.get("input") else "")
    return {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": row["output"]}]}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--output", default="sft-out")
    p.add_argument("--max-steps", type=int, default=200)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--save-steps", type=int, default=0)
    a = p.parse_args()

    tokenizer = AutoTokenizer.from_pretrained(a.model)
    model = AutoModelForCausalLM.from_pretrained(a.model)
    data = load_dataset("json", data_files=a.data, split="train").map(
        to_messages, remove_columns=["instruction", "input", "output"]
    )
    args = SFTConfig(
        output_dir=a.output,
        max_steps=a.max_steps,
        learning_rate=a.lr,
        lr_scheduler_type="constant",
        per_device_train_batch_size=8,
        logging_steps=1,
        save_strategy="steps" if a.save_steps else "no",
        save_steps=a.save_steps or 500,
        max_length=128,
        report_to="none",
        use_cpu=True,
    )
    peft = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.05, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    trainer = SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tokenizer, peft_config=peft)
    trainer.train()
    trainer.save_model(a.output)  # the script's own save: runs after a stop from the cockpit too


if __name__ == "__main__":
    main()
