#!/usr/bin/python3
"""The issue-7 distillation step in PyTorch, for the ratio printed by bench/step.ts.

Same workload as bench/workload.ts: teacher BERT 4x256 (4 heads, FFN 1024), student 2x128 (2 heads,
FFN 512), vocabulary 8,000, sequence 128, batch 16 (--seq / --batch change them for the scaling sweep
of step.ts --sweep), post-LN encoder with exact GELU and a pooler +
classifier head; loss = Hinton KL (T = 2, x T^2, batchmean) + TinyBERT hidden MSE through one shared
learned projection (pairs 0-0, 1-2, 2-4) + TinyBERT attention MSE on pre-softmax scores (x <= -100
zeroed; teacher heads averaged in pairs to the student's 2); AdamW (lr 1e-4, weight decay 0.01 on
rank >= 2 parameters). Dropout off. Debian's python3-torch (OpenBLAS through libblas.so.3).

    /usr/bin/python3 bench/reference/torch_step.py [--steps 5] [--warmup 1] [--threads N] [--seq 128] [--batch 16]
                                             [--no-inference] [--json]
"""
import argparse
import json
import math
import os
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

B, S, V, LABELS, T = 16, 128, 8000, 2, 2.0
TEACHER = dict(layers=4, hidden=256, heads=4, ffn=1024)
STUDENT = dict(layers=2, hidden=128, heads=2, ffn=512)


class Bert(nn.Module):
    def __init__(self, layers, hidden, heads, ffn):
        super().__init__()
        self.heads = heads
        self.word = nn.Embedding(V, hidden, padding_idx=0)
        self.pos = nn.Embedding(512, hidden)
        self.token_type = nn.Embedding(2, hidden)
        self.emb_norm = nn.LayerNorm(hidden, eps=1e-12)
        self.layers = nn.ModuleList()
        for _ in range(layers):
            self.layers.append(nn.ModuleDict(dict(
                q=nn.Linear(hidden, hidden), k=nn.Linear(hidden, hidden), v=nn.Linear(hidden, hidden),
                o=nn.Linear(hidden, hidden), norm1=nn.LayerNorm(hidden, eps=1e-12),
                inter=nn.Linear(hidden, ffn), out=nn.Linear(ffn, hidden), norm2=nn.LayerNorm(hidden, eps=1e-12))))
        self.pooler = nn.Linear(hidden, hidden)
        self.classifier = nn.Linear(hidden, LABELS)
        for p in self.parameters():
            if p.dim() >= 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, ids, mask, features=True):
        b, s = ids.shape
        x = self.word(ids) + self.token_type.weight[0] + self.pos.weight[:s]
        x = self.emb_norm(x)
        hidden, scores_out = [x], []
        add_mask = ((1.0 - mask.float()) * -10000.0).view(b, 1, 1, s)
        h, d = self.heads, x.shape[-1] // self.heads
        split = lambda t: t.view(b, s, h, d).transpose(1, 2)
        for layer in self.layers:
            q, k, v = split(layer['q'](x)), split(layer['k'](x)), split(layer['v'](x))
            scores = q @ k.transpose(-1, -2) / math.sqrt(d) + add_mask
            probs = scores.softmax(-1)
            ctx = (probs @ v).transpose(1, 2).reshape(b, s, h * d)
            x1 = layer['norm1'](layer['o'](ctx) + x)
            x = layer['norm2'](layer['out'](F.gelu(layer['inter'](x1))) + x1)
            hidden.append(x)
            scores_out.append(scores)
        logits = self.classifier(torch.tanh(self.pooler(x[:, 0])))
        return logits, hidden, scores_out


def set_shape(seq, batch):
    global S, B
    S, B = seq, batch


def drop_masked(x):
    return torch.where(x <= -100, torch.zeros_like(x), x)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--steps', type=int, default=5)
    parser.add_argument('--warmup', type=int, default=1)
    parser.add_argument('--threads', type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument('--seq', type=int, default=S)
    parser.add_argument('--batch', type=int, default=B)
    parser.add_argument('--no-inference', action='store_true', help='skip the teacher/student inference seq/s')
    parser.add_argument('--json', action='store_true')
    args = parser.parse_args()
    if not (1 <= args.seq <= 512 and args.batch >= 1):
        parser.error('--seq must be 1-512 (position embeddings), --batch at least 1')
    set_shape(args.seq, args.batch)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    teacher, student = Bert(**TEACHER).eval(), Bert(**STUDENT).train()
    proj = nn.Linear(STUDENT['hidden'], TEACHER['hidden'])
    params = list(student.parameters()) + list(proj.parameters())
    optimizer = torch.optim.AdamW([
        dict(params=[p for p in params if p.dim() >= 2], weight_decay=0.01),
        dict(params=[p for p in params if p.dim() < 2], weight_decay=0.0)], lr=1e-4)

    g = torch.Generator().manual_seed(7)
    ids = torch.randint(1, V, (B, S), generator=g)
    mask = torch.ones(B, S, dtype=torch.long)
    for b in range(B):
        length = max(1, S - (b % 4) * 8)
        ids[b, length:] = 0
        mask[b, length:] = 0
    pairs = [(0, 0), (1, 2), (2, 4)]
    group = TEACHER['heads'] // STUDENT['heads']

    def step():
        with torch.no_grad():
            t_logits, t_hidden, t_scores = teacher(ids, mask)
            t_scores = [s.view(B, STUDENT['heads'], group, S, S).mean(2) for s in t_scores]
        s_logits, s_hidden, s_scores = student(ids, mask)
        log_ps, log_pt = F.log_softmax(s_logits / T, -1), F.log_softmax(t_logits / T, -1)
        hinton = (log_pt.exp() * (log_pt - log_ps)).sum() / B * T * T
        hidden = sum(F.mse_loss(proj(s_hidden[si]), t_hidden[ti]) for si, ti in pairs)
        attention = sum(F.mse_loss(drop_masked(s_scores[i]), drop_masked(t_scores[2 * i + 1])) for i in range(2))
        loss = hinton + hidden + attention
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.item()

    for _ in range(args.warmup):
        step()
    times, loss = [], float('nan')
    for _ in range(args.steps):
        t0 = time.perf_counter()
        loss = step()
        times.append((time.perf_counter() - t0) * 1000)

    def seq_per_s(model):
        with torch.no_grad():
            model.eval()
            model(ids, mask)
            t0 = time.perf_counter()
            for _ in range(2):
                model(ids, mask)
            model.train()
        return round(2 * B / (time.perf_counter() - t0), 1)

    blas = os.path.realpath('/usr/lib/x86_64-linux-gnu/libblas.so.3')
    result = dict(torch=torch.__version__, threads=torch.get_num_threads(), seq=S, batch=B, blas=os.path.basename(os.path.dirname(blas)) or blas,
                  msPerStep=round(statistics.median(times), 1), stepsMs=[round(t, 1) for t in times], loss=loss,
                  teacherSeqPerS=None if args.no_inference else seq_per_s(teacher),
                  studentSeqPerS=None if args.no_inference else seq_per_s(student),
                  openblasCoretype=os.environ.get('OPENBLAS_CORETYPE', '(unset)'))
    if args.json:
        print(json.dumps(result))
    else:
        for k, v in result.items():
            print(f'{k}: {v}')


if __name__ == '__main__':
    main()
