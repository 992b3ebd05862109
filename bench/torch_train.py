#!/usr/bin/env python3
"""PyTorch CPU peer of `ponder bench train`: the same tiny-reasoner architecture (RMSNorm,
rotary embeddings, causal attention with an explicit additive mask, SwiGLU, tied head),
the same shapes, the same masked cross-entropy, forward + backward, timed the same way.

Needs Debian's python3-torch (CPU build; pip's torch wheel pulls >1 GB of CUDA libraries):
    apt-get install python3-torch libopenblas0-pthread
    /usr/bin/python3 bench/torch_train.py --d-model 256 --layers 4 --heads 8 --ff 768 --batch 8 --seq 768
Prints one JSON object.
"""
import argparse
import json
import math
import time

import torch


class Block(torch.nn.Module):
    def __init__(self, d, heads, ff):
        super().__init__()
        self.heads, self.hd = heads, d // heads
        self.attn_norm = torch.nn.Parameter(torch.ones(d))
        self.mlp_norm = torch.nn.Parameter(torch.ones(d))
        self.wq = torch.nn.Linear(d, d, bias=False)
        self.wk = torch.nn.Linear(d, d, bias=False)
        self.wv = torch.nn.Linear(d, d, bias=False)
        self.wo = torch.nn.Linear(d, d, bias=False)
        self.gate = torch.nn.Linear(d, ff, bias=False)
        self.up = torch.nn.Linear(d, ff, bias=False)
        self.down = torch.nn.Linear(ff, d, bias=False)

    def forward(self, x, cos, sin, mask):
        b, t, d = x.shape
        h = rms_norm(x, self.attn_norm)
        q = rotate(self.wq(h).view(b, t, self.heads, self.hd).transpose(1, 2), cos, sin)
        k = rotate(self.wk(h).view(b, t, self.heads, self.hd).transpose(1, 2), cos, sin)
        v = self.wv(h).view(b, t, self.heads, self.hd).transpose(1, 2)
        scores = q @ k.transpose(-1, -2) / math.sqrt(self.hd) + mask
        y = torch.softmax(scores, dim=-1) @ v
        x = x + self.wo(y.transpose(1, 2).reshape(b, t, d))
        h = rms_norm(x, self.mlp_norm)
        return x + self.down(torch.nn.functional.silu(self.gate(h)) * self.up(h))


def rms_norm(x, w, eps=1e-5):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate(x, cos, sin):
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--d-model", type=int, required=True)
    p.add_argument("--layers", type=int, required=True)
    p.add_argument("--heads", type=int, required=True)
    p.add_argument("--ff", type=int, required=True)
    p.add_argument("--vocab", type=int, default=261)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--seq", type=int, required=True)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    embed = torch.nn.Parameter(torch.randn(a.vocab, a.d_model) * 0.02)
    blocks = torch.nn.ModuleList(Block(a.d_model, a.heads, a.ff) for _ in range(a.layers))
    norm = torch.nn.Parameter(torch.ones(a.d_model))
    hd = a.d_model // a.heads
    inv = 10000.0 ** (-torch.arange(0, hd // 2, dtype=torch.float32) * 2 / hd)
    angles = torch.arange(a.seq, dtype=torch.float32)[:, None] * inv[None, :]
    cos, sin = angles.cos()[None, None], angles.sin()[None, None]
    mask = torch.full((a.seq, a.seq), -1e9).triu(1)[None, None].expand(a.batch, 1, a.seq, a.seq).contiguous()
    tokens = torch.randint(0, 256, (a.batch, a.seq + 1))
    inputs, targets = tokens[:, :-1], tokens[:, 1:]
    loss_mask = torch.ones(a.batch, a.seq)

    def step():
        x = embed[inputs]
        for blk in blocks:
            x = blk(x, cos, sin, mask)
        logits = rms_norm(x, norm) @ embed.t()
        logp = torch.log_softmax(logits, dim=-1)
        picked = logp.gather(2, targets.unsqueeze(2)).squeeze(2)
        loss = -(picked * loss_mask).sum() / loss_mask.sum()
        loss.backward()

    step()  # warm-up
    start = time.perf_counter()
    for _ in range(a.steps):
        step()
    seconds = (time.perf_counter() - start) / a.steps
    params = sum(t.numel() for t in [embed, norm, *blocks.parameters()])
    print(json.dumps({
        "peer": f"pytorch {torch.__version__}",
        "threads": a.threads,
        "parameters": params,
        "seconds_per_step": seconds,
        "tokens_per_second": a.batch * a.seq / seconds,
    }))


if __name__ == "__main__":
    main()
