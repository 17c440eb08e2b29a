#!/usr/bin/python3
"""The alpha-beta model of gan_train's gradient sums (docs/performance.md, "Beyond one machine").

    /usr/bin/python3 tests/bench/alpha_beta.py                   # the tables of the docs
    /usr/bin/python3 tests/bench/alpha_beta.py --algorithm best  # every sum by its cheapest algorithm
    /usr/bin/python3 tests/bench/alpha_beta.py --measured LOG    # also the emulated 1 Gbit/s nodes
                                                                 # against scale_out.sh's RESULT lines

Every number the model uses is a named constant below, with where it comes from. A step is C
(compute, measured on 1 rank) plus the extra compute of a compression, plus what the two
gradient sums (D's, then G's) leave exposed. Efficiency = C / step time.

Allreduce of n bytes over p ranks (alpha: latency per message, beta: seconds per byte):
    ring                 2(p-1) alpha + 2(p-1)/p n beta
    recursive doubling   log2(p) (alpha + n beta)                  (small messages)
    Rabenseifner         2 log2(p) alpha + 2(p-1)/p n beta          (Open MPI 4.1's blocking choice
                                                                    from 8 KB at 4-15 ranks)
    binomial             2 log2(p) (alpha + n beta)                  (reduce then broadcast down a
                                                                    tree: libnbc's MPI_Iallreduce
                                                                    choice for in-place sums)
Default ("ring"): the blocking fp32 and bf16 sums by the ring, as the issue's figures were;
PowerSGD's small messages by recursive doubling; --overlap's non-blocking G sum by the binomial
tree that Open MPI 4.1's libnbc picks for an in-place MPI_Iallreduce, or by Rabenseifner's
algorithm when forced (--mca coll_libnbc_iallreduce_algorithm 3). --algorithm best: every
blocking sum by the cheapest of ring, recursive doubling and Rabenseifner.
"""
import argparse
import math
import re

# --- the model (gan_train's MLP GAN: G 100-128-784, D 784-128-1) ---------------------------
Z, H, X = 100, 128, 784
G_MATS = [(Z, H), (H, X)]            # weight matrices (rows x cols) in the gradient slab
G_BIAS = H + X
D_MATS = [(X, H), (H, 1)]
D_BIAS = H + 1
G_PARAMS = sum(m * n for m, n in G_MATS) + G_BIAS   # 114,064
D_PARAMS = sum(m * n for m, n in D_MATS) + D_BIAS   # 100,609
FLOAT = 4

# FLOPs of one iteration per sample (tests/bench/RESULTS.md), for the overlap windows.
FLOPS = {"g_forward": 226_304, "d_forward_real_fake": 401_920, "d_backward_params": 402_432,
         "d_forward_fake_g_step": 200_960, "d_input_grad_g_step": 200_960, "g_backward": 427_008}
FLOPS_TOTAL = sum(FLOPS.values())   # 1,859,584

# Compute per step on 1 rank, measured (RESULTS.md; AMD EPYC with AVX-512, OpenBLAS SkylakeX
# kernels, 1 thread): 19.18 us per sample + 135 us fixed.
US_PER_SAMPLE, US_FIXED = 19.18, 135.0

# --overlap on (as built): G's sum runs behind the next step's D pass over the real half of its
# batch (forward and parameter gradient), which needs neither G nor G's update. D's sum blocks.
W_G = (FLOPS["d_forward_real_fake"] + FLOPS["d_backward_params"]) / 2 / FLOPS_TOTAL   # 0.216
# Not built: D's sum pipelined in K chunks behind D's own backward (all but the last chunk
# hide): window FLOPS["d_backward_params"] / FLOPS_TOTAL * (1 - 1/K) = 0.162 at K = 4.
D_BACKWARD_SHARE = FLOPS["d_backward_params"] / FLOPS_TOTAL                           # 0.216

# Extra compute per step of a compression on 1 rank, measured with tests/bench/scale_out.sh
# (1 rank, batch 64, median of 3 runs: blocking 1.458 ms, bf16 1.520 ms; powersgd:4 1.686 ms
# against blocking's 1.581 in the round after its exact floats were packed by memcpy, 9e8738e).
# It is per gradient, not per image; at batch 512 the differences were inside the runs' range.
EXTRA_US = {"none": 0.0, "bf16": 62.0, "powersgd:4": 105.0}

NETWORKS = {
    # name: (alpha seconds, beta seconds per byte, where from)
    "100 Gb/s InfiniBand": (2e-6, 0.08e-9, "assumed: MPI latency 2 us, 12.5 GB/s"),
    "10 Gb/s Ethernet": (30e-6, 0.8e-9, "assumed: MPI over TCP, 30 us, 1.25 GB/s"),
}
# The emulated nodes of tests/bench/scale_out.sh: alpha measured (RESULTS.md, half the 4-byte
# allreduce), beta the tbf's nominal rate (the fitted 15.8 ns/B of back-to-back messages
# overestimates a step's sums, which pass partly in the shaper's 256 KiB burst).
EMULATED = (5.3e-6, 8e-9, "1 Gbit/s tbf: alpha 5.3 us (measured), beta 8 ns/B (nominal)")


def ring(p, n, a, b):
    return 2 * (p - 1) * a + 2 * (p - 1) / p * n * b if p > 1 else 0.0


def recursive_doubling(p, n, a, b):
    return math.ceil(math.log2(p)) * (a + n * b) if p > 1 else 0.0


def rabenseifner(p, n, a, b):
    return 2 * math.ceil(math.log2(p)) * a + 2 * (p - 1) / p * n * b if p > 1 else 0.0


def binomial(p, n, a, b):
    return 2 * math.ceil(math.log2(p)) * (a + n * b) if p > 1 else 0.0


def blocking_sum(p, n, a, b, algorithm, small):
    if algorithm == "best":
        return min(ring(p, n, a, b), recursive_doubling(p, n, a, b), rabenseifner(p, n, a, b))
    return recursive_doubling(p, n, a, b) if small else ring(p, n, a, b)


def powersgd_messages(mats, bias, r):
    """Floats of the P message (the P's and the exact floats) and of the Q message of one
    network. A matrix is compressed where r (m + n) < m n (comm.c); the rest travels exactly."""
    p_floats, q_floats, exact = 0, 0, bias
    for m, n in mats:
        if r * (m + n) < m * n:
            p_floats += r * m
            q_floats += r * n
        else:
            exact += m * n
    return p_floats + exact, q_floats


def messages(kind, mats, bias, params):
    """(bytes, small?) of each collective one network's sum makes."""
    if kind.startswith("powersgd"):
        pm, qm = powersgd_messages(mats, bias, int(kind.split(":")[1]))
        return [(pm * FLOAT, True), (qm * FLOAT, True)]
    return [(params * (2 if kind == "bf16" else FLOAT), False)]


def step(kind, overlap, p, a, b, batch, algorithm="ring", d_chunks=0):
    """(compute, step time) in seconds. overlap: None, or G's non-blocking sum's algorithm:
    "binomial" (libnbc's choice for an in-place MPI_Iallreduce) or "rabenseifner" (forced with
    --mca coll_libnbc_iallreduce_algorithm 3)."""
    c = (US_FIXED + US_PER_SAMPLE * batch) * 1e-6
    if p == 1:
        return c, c
    t_d = sum(blocking_sum(p, n, a, b, algorithm, s) for n, s in messages(kind, D_MATS, D_BIAS, D_PARAMS))
    g_msgs = messages(kind, G_MATS, G_BIAS, G_PARAMS)
    if overlap is None:
        t_g = sum(blocking_sum(p, n, a, b, algorithm, s) for n, s in g_msgs)
    else:
        nb = {"binomial": binomial, "rabenseifner": rabenseifner, "ring": ring}[overlap]
        t_g = max(0.0, sum(nb(p, n, a, b) for n, _ in g_msgs) - W_G * c)
    if d_chunks > 1:   # the not-built D pipeline: each chunk pays its latency, all but the last hide
        t_d = max(0.0, sum(d_chunks * blocking_sum(p, n / d_chunks, a, b, algorithm, s)
                           for n, s in messages(kind, D_MATS, D_BIAS, D_PARAMS))
                  - D_BACKWARD_SHARE * (1 - 1 / d_chunks) * c)
    return c, c + EXTRA_US[kind] * 1e-6 + t_d + t_g


MODES = [("blocking fp32 (today)", "none", None), ("overlapped (ring, as built)", "none", "ring"),
         ("overlapped (libnbc's own binomial)", "none", "binomial"), ("bf16", "bf16", None),
         ("powersgd:4", "powersgd:4", None), ("powersgd:4 + overlap", "powersgd:4", "ring")]


def efficiency(kind, overlap, p, a, b, batch, algorithm, d_chunks=0):
    c, t = step(kind, overlap, p, a, b, batch, algorithm, d_chunks)
    return c / t


def batch_for(target, kind, overlap, p, a, b, algorithm):
    """The smallest per-rank batch with efficiency >= target (None beyond 100,000)."""
    lo, hi = 1, 100_000
    if efficiency(kind, overlap, p, a, b, hi, algorithm) < target:
        return None
    while lo < hi:
        mid = (lo + hi) // 2
        if efficiency(kind, overlap, p, a, b, mid, algorithm) >= target:
            hi = mid
        else:
            lo = mid + 1
    return lo


def table(head, rows):
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()


def measured_rows(path):
    """scale_out.sh's RESULT lines: {(nodes, ranks_per_node, batch, mode): dict}."""
    out = {}
    for line in open(path):
        if line.startswith("RESULT scale_out ") and "skipped=" not in line:
            kv = dict(re.findall(r'(\w+)=("[^"]*"|\S+)', line))
            out[(int(kv["nodes"]), int(kv["ranks_per_node"]), int(kv["batch"]), kv["mode"])] = kv
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--algorithm", choices=["ring", "best"], default="ring")
    ap.add_argument("--d-chunks", type=int, default=4, help="for the not-built D pipeline's row (default 4)")
    ap.add_argument("--measured", metavar="LOG", help="scale_out.sh output: compare the emulated nodes")
    args = ap.parse_args()
    alg = args.algorithm

    tot = {r: sum(sum(powersgd_messages(m, bb, r)) for m, bb in ((D_MATS, D_BIAS), (G_MATS, G_BIAS))) * FLOAT
           for r in (1, 2, 4, 8)}
    print(f"Bytes per step and rank handed to the sums: fp32 {(D_PARAMS + G_PARAMS) * FLOAT:,} "
          f"(D {D_PARAMS * FLOAT:,}, G {G_PARAMS * FLOAT:,}); bf16 {(D_PARAMS + G_PARAMS) * 2:,}; "
          + "; ".join(f"powersgd:{r} {v:,}" for r, v in tot.items()))
    for name, (mats, bias) in (("D", (D_MATS, D_BIAS)), ("G", (G_MATS, G_BIAS))):
        pm, qm = powersgd_messages(mats, bias, 4)
        print(f"  powersgd:4, {name}: P message {pm:,} floats ({pm * FLOAT:,} B: the P's and the exact floats), "
              f"Q message {qm:,} floats ({qm * FLOAT:,} B)")
    print(f"Overlap window of G's sum: {W_G:.3f} of a step's compute. Extra compute per step: "
          + ", ".join(f"{k} {v:.0f} us" for k, v in EXTRA_US.items() if v) + f". Blocking sums: {alg}.\n")

    nets = list(NETWORKS.items())
    head = ["network", "ranks"] + [m[0] for m in MODES]
    for batch in (64, 512):
        c = US_FIXED + US_PER_SAMPLE * batch
        print(f"Efficiency at per-rank batch {batch} (compute {c:,.0f} us per step):\n")
        table(head, [[name, str(p)] + [f"{100 * efficiency(k, ov, p, a, b, batch, alg):.0f}%" for _, k, ov in MODES]
                     for name, (a, b, _) in nets for p in (8, 64, 512)])
    print("Per-rank batch for >= 90% efficiency:\n")
    rows = []
    for name, (a, b, _) in nets:
        for p in (8, 64, 512):
            cells = [batch_for(0.9, k, ov, p, a, b, alg) for _, k, ov in MODES]
            rows.append([name, str(p)] + ["> 100,000" if x is None else f"{x:,}" for x in cells])
    table(head, rows)
    k = args.d_chunks
    print(f"Not built: D's sum pipelined in {k} chunks behind its backward, with G's overlapped "
          "(Rabenseifner), fp32:\n")
    table(["network", "ranks", "batch 64", "batch 512"],
          [[name, str(p)] + [f"{100 * efficiency('none', 'rabenseifner', p, a, b, bt, alg, k):.0f}%"
                             for bt in (64, 512)]
           for name, (a, b, _) in nets for p in (8, 64, 512)])
    for name, (a, b, src) in nets:
        print(f"- {name}: alpha = {a * 1e6:g} us, beta = {b * 1e9:g} ns/B ({src})")

    if args.measured:
        meas = measured_rows(args.measured)
        a, b, src = EMULATED
        print(f"\nEmulated nodes, one rank per node ({src}), model against scale_out.sh "
              "(model with the compute measured there on 1 rank):\n")
        rows = []
        for p in (2, 4):
            for batch in (64, 512):
                for label, mode, kind, ov in (("blocking", "blocking", "none", None),
                                              ("overlapped", "overlapped", "none", "ring"),
                                              ("bf16", "bf16", "bf16", None),
                                              ("powersgd:4", "powersgd:4", "powersgd:4", None)):
                    m = meas.get((p, 1, batch, mode))
                    base = meas.get((1, 1, batch, "blocking"))
                    if not m or not base:
                        continue
                    c_meas = float(base["step_ms"]) * 1e-3
                    c_mod, t_mod = step(kind, ov, p, a, b, batch, "best")
                    t = t_mod - c_mod + c_meas
                    rows.append([str(p), str(batch), label, f"{t * 1e3:.2f}", f"{float(m['step_ms']):.2f}",
                                 f"{c_meas / t:.2f}", f"{float(m['eff_vs_blocking_1rank']):.2f}"])
        table(["nodes", "batch", "mode", "model step ms", "measured step ms", "model efficiency",
               "measured (vs 1 rank blocking)"], rows)


if __name__ == "__main__":
    main()
