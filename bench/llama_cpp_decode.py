#!/usr/bin/env python3
"""llama.cpp's decode speed on a GGUF file, through llama-cpp-python, measured as
`ponder bench decode` measures ponder: prompt processing of 128 and 512 random tokens (batch 1),
128 generated tokens one at a time (batch 1), and generation throughput for 8 and 32
sequences decoded together (one llama_decode per step with one token per sequence).
Prints one JSON object. Install the peer: `pip install llama-cpp-python` (compiles llama.cpp).

    python3 bench/llama_cpp_decode.py MODEL.gguf --threads N [--reps 3]
"""
import argparse
import json
import random
import time

import llama_cpp


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--tokens", type=int, default=128)
    args = ap.parse_args()
    llm = llama_cpp.Llama(model_path=args.model, n_ctx=512, verbose=False)
    n_vocab = llm.n_vocab()
    rng = random.Random(0)
    # A context of our own, so several sequences can share it (the high-level API has one).
    params = llama_cpp.llama_context_default_params()
    params.n_ctx, params.n_batch, params.n_ubatch = 8192, 512, 512
    params.n_seq_max, params.kv_unified = 32, True
    params.n_threads = params.n_threads_batch = args.threads
    ctx = llama_cpp.llama_init_from_model(llm.model, params)

    def clear():
        llama_cpp.llama_memory_clear(llama_cpp.llama_get_memory(ctx), True)

    def decode(tokens, positions, seqs, last_only):
        batch = llama_cpp.llama_batch_init(len(tokens), 0, 1)
        for i, (tok, pos, seq) in enumerate(zip(tokens, positions, seqs)):
            batch.token[i] = tok
            batch.pos[i] = pos
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = seq
            batch.logits[i] = (not last_only) or i == len(tokens) - 1
        batch.n_tokens = len(tokens)
        rc = llama_cpp.llama_decode(ctx, batch)
        llama_cpp.llama_batch_free(batch)
        if rc != 0:
            raise RuntimeError(f"llama_decode failed: {rc}")

    def best(f):
        return min(f() for _ in range(args.reps))

    def pp(n):
        def run():
            clear()
            toks = [rng.randrange(n_vocab) for _ in range(n)]
            start = time.perf_counter()
            decode(toks, list(range(n)), [0] * n, True)
            return time.perf_counter() - start
        return n / best(run)

    def tg(batch):
        def run():
            clear()
            start = time.perf_counter()
            for step in range(args.tokens):
                decode([rng.randrange(n_vocab) for _ in range(batch)], [step] * batch, list(range(batch)), False)
            return time.perf_counter() - start
        return batch * args.tokens / best(run)

    pp(32)  # warm-up
    out = {
        "peer": f"llama.cpp (llama-cpp-python {llama_cpp.__version__})",
        "threads": args.threads,
        "pp128": pp(128),
        "pp512": pp(512),
        "tg128": tg(1),
        "batch8": tg(8),
        "batch32": tg(32),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
