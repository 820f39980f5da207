#!/usr/bin/env python3
"""Time real training steps of a model with PyTorch, to check `gpubench calibrate`.

Builds the same decoder-only transformer `gpubench calibrate` models, from the same
configuration (a preset of data/models.json or a Hugging Face config.json, read through
`gpubench calibrate --dry-run --json` so both tools see identical dimensions), with random
weights and random tokens (nothing is downloaded). Runs warm-up steps, then timed steps of
forward, backward and AdamW, and prints one JSON object with the median step time and the
tokens per second.

The module follows the step gpubench lists (docs/calibrating.md):
- fused QKV and gate/up projections (``--unfused``: separate ones, as gpubench ``--unfused``);
- eager attention as two batched matmuls over micro-batch x heads, with one
  ``scale + causal mask`` kernel and a softmax between them (``--attention sdpa`` uses
  PyTorch's fused scaled_dot_product_attention instead: not what gpubench models);
- RMSNorm + RoPE + SwiGLU for LLaMA-style configs, LayerNorm + learned positions + GELU and
  biases for GPT-2-style ones; an LM head tied to the embedding when the config ties them;
- bf16 weights and activations with fp32 master weights: after backward each gradient is cast
  to fp32, AdamW (fused on CUDA) updates the fp32 masters and moments, and the new weights are
  cast back to bf16 (gpubench charges 40 bytes per parameter for this); ``--dtype fp32`` trains
  in fp32 with AdamW directly (28 bytes per parameter);
- ``--recompute selective`` checkpoints the attention core, ``full`` every layer.

Examples (on a GPU):
    python benches/train_step.py --preset gpt3-125m --seq 2048 --micro-batch 8
    python benches/train_step.py --model-config config.json --seq 2048 --micro-batch 4 \\
        --trace results/trace_125m.json

On a machine without a GPU, ``--device cpu --dtype fp32`` runs the same code at small sizes.
"""

import argparse
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.utils.checkpoint import checkpoint
except ImportError:  # pragma: no cover - reported as one line
    sys.exit("Error: PyTorch is not installed; pip install torch")


def gpubench_binary(explicit):
    """The gpubench binary: --gpubench, else target/release, target/debug, then PATH."""
    if explicit:
        return explicit
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for sub in ("release", "debug"):
        p = os.path.join(root, "target", sub, "gpubench")
        if os.path.exists(p):
            return p
    found = shutil.which("gpubench")
    if found:
        return found
    sys.exit("Error: gpubench not found; build it (cargo build --release) or pass --gpubench PATH")


def load_config(args):
    """The model and step as gpubench reads them (same presets, same config parser)."""
    cmd = [gpubench_binary(args.gpubench), "calibrate", "--dry-run", "--json",
           "--seq", str(args.seq), "--micro-batch", str(args.micro_batch),
           "--recompute", args.recompute]
    cmd += ["--model", args.preset] if args.preset else ["--model-config", args.model_config]
    if args.unfused:
        cmd.append("--unfused")
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(r.stderr.strip() or f"Error: {' '.join(cmd)} failed")
    return json.loads(r.stdout)


class RMSNorm(nn.Module):
    def __init__(self, h, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(h))
        self.eps = eps

    def forward(self, x):
        if hasattr(F, "rms_norm"):
            return F.rms_norm(x, (x.shape[-1],), self.weight, self.eps)
        var = x.float().pow(2).mean(-1, keepdim=True)
        return (x.float() * torch.rsqrt(var + self.eps)).to(x.dtype) * self.weight


def rope_tables(seq, d, device, dtype, base=10000.0):
    inv = 1.0 / (base ** (torch.arange(0, d, 2, device=device, dtype=torch.float32) / d))
    freqs = torch.outer(torch.arange(seq, device=device, dtype=torch.float32), inv)
    emb = torch.cat((freqs, freqs), dim=-1)
    # (seq, 1, d): broadcast over (batch, seq, heads, d)
    return emb.cos()[:, None, :].to(dtype), emb.sin()[:, None, :].to(dtype)


def apply_rope(x, cos, sin):
    half = x.shape[-1] // 2
    rotated = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
    return x * cos + rotated * sin


class Block(nn.Module):
    def __init__(self, m, fused, attention, selective):
        super().__init__()
        h, a, kvh, f = m["hidden"], m["heads"], m["kv_heads"], m["ffn"]
        d = m.get("head_dim") or h // a
        bias = m.get("bias", False)
        self.a, self.kvh, self.d = a, kvh, d
        self.gated = m["gated_mlp"]
        self.rope = not m.get("learned_positions", False)
        self.fused, self.attention, self.selective = fused, attention, selective
        norm = (lambda: nn.LayerNorm(h)) if bias else (lambda: RMSNorm(h))
        self.norm1, self.norm2 = norm(), norm()
        if fused:
            self.qkv = nn.Linear(h, (a + 2 * kvh) * d, bias=bias)
        else:
            self.q = nn.Linear(h, a * d, bias=bias)
            self.k = nn.Linear(h, kvh * d, bias=bias)
            self.v = nn.Linear(h, kvh * d, bias=bias)
        self.out = nn.Linear(a * d, h, bias=bias)
        if self.gated and fused:
            self.gate_up = nn.Linear(h, 2 * f, bias=bias)
        elif self.gated:
            self.gate = nn.Linear(h, f, bias=bias)
            self.up = nn.Linear(h, f, bias=bias)
        else:
            self.up = nn.Linear(h, f, bias=bias)
        self.down = nn.Linear(f, h, bias=bias)

    def core(self, q, k, v, mask):
        """Scores, scale + causal mask, softmax, context: batched over micro-batch x heads."""
        att = torch.matmul(q, k.transpose(-2, -1))
        att = torch.add(mask, att, alpha=1.0 / math.sqrt(self.d))
        att = torch.softmax(att, dim=-1)
        return torch.matmul(att, v)

    def attn(self, x, cos, sin, mask):
        b, s, _ = x.shape
        a, kvh, d = self.a, self.kvh, self.d
        if self.fused:
            q, k, v = self.qkv(x).split([a * d, kvh * d, kvh * d], dim=-1)
        else:
            q, k, v = self.q(x), self.k(x), self.v(x)
        q, k, v = q.view(b, s, a, d), k.view(b, s, kvh, d), v.view(b, s, kvh, d)
        if self.rope:
            q, k = apply_rope(q, cos, sin), apply_rope(k, cos, sin)
        q, k, v = (t.transpose(1, 2).contiguous() for t in (q, k, v))
        if self.attention == "sdpa":
            ctx = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=kvh < a)
        else:
            if kvh < a:
                k = k.repeat_interleave(a // kvh, dim=1)
                v = v.repeat_interleave(a // kvh, dim=1)
            if self.selective:
                ctx = checkpoint(self.core, q, k, v, mask, use_reentrant=False)
            else:
                ctx = self.core(q, k, v, mask)
        return self.out(ctx.transpose(1, 2).reshape(b, s, a * d))

    def mlp(self, x):
        if self.gated and self.fused:
            g, u = self.gate_up(x).chunk(2, dim=-1)
            return self.down(F.silu(g) * u)
        if self.gated:
            return self.down(F.silu(self.gate(x)) * self.up(x))
        return self.down(F.gelu(self.up(x), approximate="tanh"))

    def forward(self, x, cos, sin, mask):
        x = x + self.attn(self.norm1(x), cos, sin, mask)
        return x + self.mlp(self.norm2(x))


class Model(nn.Module):
    def __init__(self, m, seq, fused, attention, recompute):
        super().__init__()
        h = m["hidden"]
        self.embed = nn.Embedding(m["vocab"], h)
        self.pos = nn.Embedding(m["context"], h) if m.get("learned_positions") else None
        self.blocks = nn.ModuleList(
            Block(m, fused, attention, recompute == "selective") for _ in range(m["layers"]))
        self.norm = nn.LayerNorm(h) if m.get("bias") else RMSNorm(h)
        self.head = nn.Linear(h, m["vocab"], bias=False)
        if m["tie_word_embeddings"]:
            self.head.weight = self.embed.weight
        self.full = recompute == "full"
        self.seq = seq
        d = m.get("head_dim") or h // m["heads"]
        self.d = d

    def forward(self, tokens, cos, sin, mask):
        x = self.embed(tokens)
        if self.pos is not None:
            x = x + self.pos.weight[: tokens.shape[1]]
        for blk in self.blocks:
            if self.full:
                x = checkpoint(blk, x, cos, sin, mask, use_reentrant=False)
            else:
                x = blk(x, cos, sin, mask)
        return self.head(self.norm(x))


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--preset", help="a gpubench model preset (gpubench models)")
    src.add_argument("--model-config", help="a Hugging Face config.json")
    p.add_argument("--seq", type=int, default=2048)
    p.add_argument("--micro-batch", type=int, default=1)
    p.add_argument("--steps", type=int, default=20, help="timed steps")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps first")
    p.add_argument("--dtype", choices=["bf16", "fp32"], default="bf16")
    p.add_argument("--device", default="cuda")
    p.add_argument("--recompute", choices=["none", "selective", "full"], default="none")
    p.add_argument("--attention", choices=["eager", "sdpa"], default="eager")
    p.add_argument("--unfused", action="store_true", help="separate Q/K/V and gate/up")
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    p.add_argument("--trace", help="write a torch.profiler Chrome trace of 3 steps here "
                   "(and a kernel summary beside it)")
    p.add_argument("--gpubench", help="path of the gpubench binary")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    for flag in ("seq", "micro_batch", "steps"):
        if getattr(args, flag) <= 0:
            sys.exit(f"Error: --{flag.replace('_', '-')} must be a positive whole number")
    if args.warmup < 0:
        sys.exit("Error: --warmup must be zero or more")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        sys.exit("Error: no CUDA device for PyTorch; use --device cpu --dtype fp32 for a CPU run")

    plan = load_config(args)
    m = plan["model"]
    torch.manual_seed(args.seed)
    dev = torch.device(args.device)
    dtype = torch.bfloat16 if args.dtype == "bf16" else torch.float32
    model = Model(m, args.seq, not args.unfused, args.attention, args.recompute).to(dev, dtype)
    params = [q for q in model.parameters() if q.requires_grad]
    n_params = sum(q.numel() for q in params)
    fused_opt = dev.type == "cuda"
    if dtype == torch.float32:
        masters = None
        opt = torch.optim.AdamW(params, lr=1e-4, fused=fused_opt)
    else:
        masters = [q.detach().float().clone() for q in params]
        opt = torch.optim.AdamW(masters, lr=1e-4, fused=fused_opt)

    cos, sin = rope_tables(args.seq, model.d, dev, dtype)
    mask = torch.full((args.seq, args.seq), float("-inf"), device=dev, dtype=dtype).triu(1)
    fwd = torch.compile(model) if args.compile else model
    vocab = m["vocab"]
    tokens = torch.randint(0, vocab, (args.micro_batch, args.seq), device=dev)
    labels = torch.randint(0, vocab, (args.micro_batch, args.seq), device=dev)

    def step():
        logits = fwd(tokens, cos, sin, mask)
        loss = F.cross_entropy(logits.view(-1, vocab), labels.view(-1))
        loss.backward()
        if masters is not None:
            for mp, q in zip(masters, params):
                mp.grad = q.grad.float()
        opt.step()
        if masters is not None:
            with torch.no_grad():
                torch._foreach_copy_(params, masters)
        model.zero_grad(set_to_none=True)
        if masters is not None:
            for mp in masters:
                mp.grad = None
        return loss

    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    for _ in range(args.warmup):
        step()
    sync()
    times = []
    for _ in range(args.steps):
        if dev.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            loss = step()
            end.record()
            end.synchronize()
            times.append(start.elapsed_time(end) / 1e3)
        else:
            t0 = time.perf_counter()
            loss = step()
            times.append(time.perf_counter() - t0)
    if not math.isfinite(loss.item()):
        sys.exit("Error: the loss is not finite; the model diverged")

    out = {
        "model": m["name"],
        "params": n_params,
        "seq": args.seq,
        "micro_batch": args.micro_batch,
        "tokens_per_step": args.seq * args.micro_batch,
        "dtype": args.dtype,
        "recompute": args.recompute,
        "attention": args.attention,
        "fused": not args.unfused,
        "compile": args.compile,
        "device": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "torch": torch.__version__,
        "warmup_steps": args.warmup,
        "steps": args.steps,
        "step_times_s": times,
        "step_time_s": statistics.median(times),
        "step_time_mean_s": statistics.fmean(times),
        "tokens_per_sec": args.seq * args.micro_batch / statistics.median(times),
        "gpubench_model_flops_per_step": plan["model_flops_per_step"],
    }
    out["model_tflops"] = out["gpubench_model_flops_per_step"] / out["step_time_s"] / 1e12
    if dev.type == "cuda":
        out["peak_memory_bytes"] = torch.cuda.max_memory_allocated(dev)
    if args.trace:
        out["trace"] = profile(step, args.trace, dev)
    print(json.dumps(out, indent=2))


GEMM_KEYS = ("gemm", "xmma", "cutlass", "nvjet", "cublas", "sm80_", "sm90_", "ampere_", "hopper_")


def profile(step, path, dev):
    """Profiles 3 steps; writes the Chrome trace and a kernel table; returns device seconds
    per step by group (GEMM kernels, optimizer kernels, everything else)."""
    from torch.profiler import ProfilerActivity, profile as tprofile

    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == "cuda" else [])
    with tprofile(activities=acts) as prof:
        for _ in range(3):
            step()
        if dev.type == "cuda":
            torch.cuda.synchronize()
    prof.export_chrome_trace(path)
    sort = "cuda_time_total" if dev.type == "cuda" else "cpu_time_total"
    with open(os.path.splitext(path)[0] + "_kernels.txt", "w") as f:
        f.write(prof.key_averages().table(sort_by=sort, row_limit=60))
    groups = {"gemm_s": 0.0, "optimizer_s": 0.0, "other_s": 0.0}
    if dev.type != "cuda":
        return groups
    for ev in prof.key_averages():
        if ev.device_type != torch.autograd.DeviceType.CUDA:
            continue
        name = ev.key.lower()
        t = ev.self_device_time_total / 1e6 / 3 if hasattr(ev, "self_device_time_total") \
            else ev.self_cuda_time_total / 1e6 / 3
        if any(k in name for k in GEMM_KEYS):
            groups["gemm_s"] += t
        elif "adam" in name or "multi_tensor" in name:
            groups["optimizer_s"] += t
        else:
            groups["other_s"] += t
    return groups


if __name__ == "__main__":
    main()
