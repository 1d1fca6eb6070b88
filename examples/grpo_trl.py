"""A TRL GRPOTrainer script with LoRA and a small reward function: shorter answers that repeat the
question's last word score higher. Nothing in it knows the cockpit.

    cockpit run -- python examples/grpo_trl.py --model MODEL_DIR --data data.jsonl --output out

GRPO logs its own metrics (reward, reward_std, rewards/<function>/mean, kl, completions/mean_length,
completions/clipped_ratio, entropy, ...): every one of them reaches the run's events.jsonl.
"""

from __future__ import annotations

import argparse

from datasets import load_dataset
from peft import LoraConfig
from transformers import AutoModelForCausalLM, AutoTokenizer
from trl import GRPOConfig, GRPOTrainer


def to_prompt(row):
    user = row["instruction"] + ("\n" + row["input"] if row.get("input") else "")
    return {"prompt": [{"role": "user", "content": user}]}


def echoes_the_input(prompts, completions, **kwargs):
    """1 for a completion holding the prompt's last word, minus a little per character past 12."""
    out = []
    for prompt, completion in zip(prompts, completions):
        word = prompt[-1]["content"].split()[-1].lower()
        text = completion[-1]["content"] if isinstance(completion, list) else str(completion)
        out.append(float(word in text.lower()) - 0.02 * max(0, len(text) - 12))
    return out


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True)
    p.add_argument("--output", default="grpo-out")
    p.add_argument("--max-steps", type=int, default=100)
    p.add_argument("--lr", type=float, default=1e-4)
    a = p.parse_args()

    tokenizer = AutoTokenizer.from_pretrained(a.model)
    tokenizer.padding_side = "left"
    model = AutoModelForCausalLM.from_pretrained(a.model)
    data = load_dataset("json", data_files=a.data, split="train").map(
        to_prompt, remove_columns=["instruction", "input", "output"]
    )
    args = GRPOConfig(
        output_dir=a.output,
        max_steps=a.max_steps,
        learning_rate=a.lr,
        lr_scheduler_type="constant",
        per_device_train_batch_size=4,
        num_generations=4,
        max_completion_length=12,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=True,
    )
    peft = LoraConfig(r=8, lora_alpha=16, lora_dropout=0.05, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    trainer = GRPOTrainer(
        model=model,
        reward_funcs=echoes_the_input,
        args=args,
        train_dataset=data,
        processing_class=tokenizer,
        peft_config=peft,
    )
    trainer.train()
    trainer.save_model(a.output)


if __name__ == "__main__":
    main()
