#!/usr/bin/env python3
"""Reference outputs from llama.cpp (through llama-cpp-python) for checking ponder's GGUF engine.

Record fixtures (the format of ../shared/fixtures/smollm2_greedy_llamacpp.json: ChatML prompt
without a system turn, its token ids, and the greedy continuation):

    python3 scripts/llama_cpp_reference.py record MODEL.gguf OUT.json "What is 12 + 7?" "Name a prime."

Compare with an existing fixture file (does this llama.cpp build reproduce it?) and dump the
logits of every prompt's last position, for diffing against ponder:

    python3 scripts/llama_cpp_reference.py check MODEL.gguf FIXTURES.json OUT.json [--flash-attn on|off]

Install the peer with `pip install llama-cpp-python` (it compiles llama.cpp: several minutes).
Greedy continuations are sensitive to near-ties between the top two logits: llama.cpp's own
attention paths (flash attention on or off) disagree on some of these prompts.
"""
import json
import sys

import llama_cpp


def load(model_path, flash):
    return llama_cpp.Llama(model_path=model_path, n_ctx=1024, n_threads=2, n_batch=512, logits_all=True,
                           flash_attn=flash, verbose=False)


def greedy(llm, prompt, limit):
    out = []
    for token in llm.generate(prompt, top_k=1, temp=0.0, reset=True):
        out.append(int(token))
        if token == llm.token_eos() or len(out) >= limit:
            break
    return out


def record(model_path, out_path, messages):
    llm = load(model_path, flash=False)
    fixtures = []
    for user in messages:
        text = f"<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
        prompt = llm.tokenize(text.encode(), add_bos=False, special=True)
        tokens = greedy(llm, prompt, 48)
        body = tokens[:-1] if tokens and tokens[-1] == llm.token_eos() else tokens
        fixtures.append({"user": user, "prompt_text": text, "prompt_tokens": prompt, "greedy_tokens": tokens,
                         "greedy_text": llm.detokenize(body).decode(errors="replace")})
    json.dump(fixtures, open(out_path, "w"), indent=1)
    print(f"wrote {len(fixtures)} fixtures to {out_path} (llama-cpp-python {llama_cpp.__version__})")


def check(model_path, fixtures_path, out_path, flash):
    llm = load(model_path, flash)
    out = {"llama_cpp_python": llama_cpp.__version__, "flash_attn": flash, "prompts": []}
    for f in json.load(open(fixtures_path)):
        prompt = f["prompt_tokens"]
        tokens = greedy(llm, prompt, len(f["greedy_tokens"]))
        last = list(llm.scores[len(prompt) - 1])
        same = next((i for i, (a, b) in enumerate(zip(tokens, f["greedy_tokens"])) if a != b), None)
        out["prompts"].append({"user": f["user"], "greedy_tokens": tokens, "first_difference": same,
                               "last_prompt_logits": [float(x) for x in last]})
        print(f"{f['user']!r}: " + ("identical" if same is None else f"differs from token {same}"))
    json.dump(out, open(out_path, "w"))


if __name__ == "__main__":
    if len(sys.argv) >= 4 and sys.argv[1] == "record":
        record(sys.argv[2], sys.argv[3], sys.argv[4:])
    elif len(sys.argv) >= 5 and sys.argv[1] == "check":
        fa = "--flash-attn" in sys.argv and sys.argv[sys.argv.index("--flash-attn") + 1] == "on"
        check(sys.argv[2], sys.argv[3], sys.argv[4], fa)
    else:
        sys.exit(__doc__)
