#!/usr/bin/env python3
"""Greedy continuations and logits from llama.cpp (through llama-cpp-python) for the fixture
prompts, to compare ponder's GGUF engine against the reference implementation.

    python3 scripts/llama_cpp_reference.py MODEL.gguf FIXTURES.json OUT.json [--flash-attn on|off]

Writes, per prompt: llama.cpp's greedy tokens and, for every position of prompt + greedy
continuation, the top-5 logits, and the full logits of the last prompt position.
Install the peer with `pip install llama-cpp-python` (it compiles llama.cpp: several minutes).
"""
import json
import sys

import llama_cpp
import numpy as np


def main():
    model_path, fixtures_path, out_path = sys.argv[1:4]
    flash = "--flash-attn" in sys.argv and sys.argv[sys.argv.index("--flash-attn") + 1] == "on"
    fixtures = json.load(open(fixtures_path))
    llm = llama_cpp.Llama(model_path=model_path, n_ctx=512, n_threads=2, n_batch=512, logits_all=True,
                          flash_attn=flash, verbose=False)
    out = {"llama_cpp_python": llama_cpp.__version__, "flash_attn": flash, "prompts": []}
    for f in fixtures:
        llm.reset()
        prompt = f["prompt_tokens"]
        greedy = []
        for token in llm.generate(prompt, top_k=1, temp=0.0, reset=True):
            if token == llm.token_eos() or len(greedy) >= len(f["greedy_tokens"]):
                greedy.append(int(token)) if token == llm.token_eos() else None
                break
            greedy.append(int(token))
        scores = np.array(llm.scores[: len(prompt) + len(greedy)])
        last_prompt = scores[len(prompt) - 1]
        out["prompts"].append({
            "user": f["user"],
            "greedy_tokens": greedy,
            "matches_fixture": greedy == f["greedy_tokens"][: len(greedy)],
            "last_prompt_logits": [float(x) for x in last_prompt],
        })
        print(f"{f['user']!r}: {len(greedy)} tokens, matches fixture: {greedy == f['greedy_tokens'][:len(greedy)]}")
    json.dump(out, open(out_path, "w"))


if __name__ == "__main__":
    main()
