#!/usr/bin/python3
"""Turn gan_bench / torch_reference RESULT lines into tests/bench/RESULTS.md (Markdown)."""
import statistics
import sys
from datetime import date

rows, kernels = [], {}
for line in open(sys.argv[1]):
    if line.startswith("RESULT "):
        rows.append(dict(kv.split("=", 1) for kv in line.split()[1:]))
    elif line.startswith("KERNEL precision="):  # free text: what runs the products
        precision, _, text = line[len("KERNEL precision="):].strip().partition(" ")
        kernels[precision] = text


def pick(**want):
    # Training rows are the plain ones unless the probe or the concurrent runs are asked for.
    if want.get("mode") == "train":
        want.setdefault("probe_wait", 0)
        want.setdefault("concurrent", None)
    return [r for r in rows if all(r.get(k) == (None if v is None else str(v)) for k, v in want.items())]


def one(**want):
    """The matching row; of several launches, the one with the median throughput."""
    found = sorted(pick(**want), key=lambda r: float(r.get("img_per_s", 0)))
    return found[(len(found) - 1) // 2] if found else None


def spread(**want):
    """' (launches: a, b, c)' per-rank img/s when there were several, else ''."""
    found = pick(**want)
    if len(found) < 2:
        return ""
    return " (launches: " + ", ".join(f"{float(r['img_per_s_per_rank']):,.0f}" for r in found) + " img/s per rank)"


out = []
say = out.append
say("# gan_train benchmark results\n")
say(f"Measured {date.today()} by `bash tests/bench/run_bench.sh` on this machine (2 cores); every figure "
    "is the median of 5 timed repeats of about 0.6 s after a warm-up. Raw lines: `build/bench/results.log`.\n")
settings = {"generic": "OpenBLAS generic SSE3 kernels for both (`OPENBLAS_CORETYPE=Prescott`)",
            "skylakex": "AVX-512 kernels for both (`OPENBLAS_CORETYPE=SkylakeX`)",
            "as-run": "as users run them, no environment set"}
flops = None
for s, text in settings.items():
    sg = one(setting=s, mode="sgemm")
    say(f"## {text}\n")
    cores = {r["core"] for r in pick(setting=s, mode="train")}
    say(f"OpenBLAS kernels that ran in gan_train: {', '.join(sorted(cores))}; single-thread sgemm "
        f"{sg['size']}³: **{float(sg['gflops']):.1f} GFLOP/s** ({sg['core']}).\n")
    say("| ranks | batch/rank | gan_train img/s (total) | per rank | PyTorch img/s (1 process) | gan_train ÷ PyTorch, per core | fraction of the compute limit |")
    say("|---|---|---|---|---|---|---|")
    for n in (1, 2):
        for b in (1, 64, 256):
            r = one(setting=s, mode="train", ranks=n, batch=b)
            t = one(setting=s, mode="torch", batch=b)
            if not r:
                continue
            flops = float(r["flops_per_sample"])
            limit = float(sg["gflops"]) * 1e9 / flops
            per_rank = float(r["img_per_s_per_rank"])
            ratio = f"{per_rank / float(t['img_per_s']):.2f}×" if t else "–"
            say(f"| {n} | {b} | {float(r['img_per_s']):,.0f} | {per_rank:,.0f} | "
                f"{float(t['img_per_s']):,.0f} | {ratio} | {per_rank / limit:.0%} |" if t else
                f"| {n} | {b} | {float(r['img_per_s']):,.0f} | {per_rank:,.0f} | – | – | {per_rank / limit:.0%} |")
    say("")
    say(f"Compute limit per core = sgemm rate ÷ FLOPs per sample = {float(sg['gflops']):.1f} GFLOP/s ÷ "
        f"{flops / 1e6:.3f} MFLOP = **{float(sg['gflops']) * 1e9 / flops:,.0f} img/s**.\n")
    say("Weak scaling 1 → 2 ranks (per-rank throughput at 2 ranks ÷ at 1 rank): " + ", ".join(
        f"batch {b}: {float(one(setting=s, mode='train', ranks=2, batch=b)['img_per_s_per_rank']) / float(one(setting=s, mode='train', ranks=1, batch=b)['img_per_s_per_rank']):.0%}"
        for b in (1, 64, 256)) + "; at batch 64 the median of 3 launches" + spread(setting=s, mode="train", ranks=2, batch=64) + ".\n")

bf16_limit = one(setting="bf16", mode="sgemm", precision="bf16")
if bf16_limit:
    fp32_limit = one(setting="bf16", mode="sgemm", precision="fp32")
    g16, g32 = float(bf16_limit["gflops"]), float(fp32_limit["gflops"])
    say("## bf16 (`--precision bf16`) against fp32, as run\n")
    say(f"bf16 products: {kernels.get('bf16', '?')}. The same 2048³ product in bf16: **{g16:.1f} GFLOP/s**, "
        f"against fp32's sgemm at {g32:.1f} GFLOP/s ({g16 / g32:.2f}×); each is its precision's compute limit "
        "(its rate ÷ the FLOPs per sample). fp32 and bf16 launches alternate.\n")
    say("| ranks | batch/rank | fp32 img/s per rank | bf16 img/s per rank | bf16 ÷ fp32 | fp32: fraction of the fp32 limit | bf16: fraction of the bf16 limit |")
    say("|---|---|---|---|---|---|---|")
    for n in (1, 2):
        for b in (1, 64, 256, 512):
            r32 = one(setting="bf16", mode="train", ranks=n, batch=b, precision="fp32")
            r16 = one(setting="bf16", mode="train", ranks=n, batch=b, precision="bf16")
            if not (r32 and r16):
                continue
            f = float(r16["flops_per_sample"])
            v32, v16 = float(r32["img_per_s_per_rank"]), float(r16["img_per_s_per_rank"])
            say(f"| {n} | {b} | {v32:,.0f} | {v16:,.0f} | {v16 / v32:.2f}× | {v32 / (g32 * 1e9 / f):.0%} | "
                f"{v16 / (g16 * 1e9 / f):.0%} |")
    say("")

say("## Where a step goes (as run, batch 64 per rank)\n")
say("| ranks | step µs | data | forward | backward | allreduce | Adam | logging + checkpoint I/O (amortised) |")
say("|---|---|---|---|---|---|---|---|")
for n in (1, 2):
    r = one(setting="as-run", mode="train", ranks=n, batch=64)
    say(f"| {n} | {float(r['step_us']):.0f} | " + " | ".join(
        f"{float(r[k + '_frac']):.1%}" for k in ("data", "forward", "backward", "allreduce", "adam", "io")) + " |")
probes = pick(setting="as-run", mode="train", ranks=2, batch=64, probe_wait=1)
if probes:
    say("\nThe same 2-rank run with a barrier before each allreduce (`gan_bench --probe-wait`), so that "
        "waiting for the slower rank is timed apart from the allreduce itself, in 3 launches:\n")
    say("| launch | img/s per rank | step µs | wait for the slower rank | allreduce itself | backward | 1 MiB allreduce just before |")
    say("|---|---|---|---|---|---|---|")
    for r in probes:
        st = float(r["step_us"])
        before = one(setting="probe", mode="allreduce", launch=r["launch"])
        say(f"| {r['launch']} | {float(r['img_per_s_per_rank']):,.0f} | {st:.0f} | "
            + " | ".join(f"{float(r[k + '_frac']):.1%} ({float(r[k + '_frac']) * st:.0f} µs)" for k in ("wait", "allreduce", "backward"))
            + (f" | {float(before['us']):.0f} µs |" if before else " | – |"))
    say("\nThe last column shows the state of the machine: a 1 MiB allreduce takes about 110 µs here in "
        "normal periods; in the slow periods of this VM's cross-core bandwidth (README) a 456 KB one took "
        "3× its normal time.\n")
    alone = one(setting="as-run", mode="train", ranks=1, batch=64)
    both = pick(setting="as-run", mode="train", ranks=1, batch=64, concurrent="0") + \
        pick(setting="as-run", mode="train", ranks=1, batch=64, concurrent="1")
    if both and alone:
        rates = sorted(float(r["img_per_s"]) for r in both)
        say(f"\nTwo independent single-rank runs at once, one pinned to each core (no MPI between them), "
            f"3 launches: {', '.join(f'{x:,.0f}' for x in rates)} img/s each (median "
            f"{statistics.median(rates):,.0f}) against {float(alone['img_per_s']):,.0f} alone: "
            f"{statistics.median(rates) / float(alone['img_per_s']):.0%}. What two ranks lose beyond that is "
            "the communication and the waiting at its two synchronisation points.\n")
ios = pick(mode="io")  # every gan_bench run measures its rank 0's I/O: take the medians
io = {k: statistics.median(float(r[k]) for r in ios) for k in ("checkpoint_ms", "log_ms", "samples_ms")}
say(f"\nI/O per event (medians of {len(ios)} runs): checkpoint {io['checkpoint_ms']:.1f} ms (every 1000 steps), "
    f"metrics row {io['log_ms']:.2f} ms (every 100), sample grid {io['samples_ms']:.2f} ms (every 500).\n")

say("## FLOPs of one iteration, per sample (Z=100, H=128, X=784)\n")
say("| part | FLOPs |\n|---|---|")
Z, H, X = 100, 128, 784
parts = [("G forward: 2ZH + 2HX", 2 * Z * H + 2 * H * X),
         ("D forward on real and fake (D step): 2 × (2XH + 2H)", 2 * (2 * X * H + 2 * H)),
         ("D backward, parameter gradients, 2 rows: 2 × (2XH + 4H)", 2 * (2 * X * H + 4 * H)),
         ("D forward on fake with the updated D (G step): 2XH + 2H", 2 * X * H + 2 * H),
         ("through D to its input (G step): 2H + 2HX", 2 * H + 2 * H * X),
         ("G backward: dW2 2HX + dh 2HX + dW1 2ZH", 4 * H * X + 2 * Z * H)]
for name, f in parts:
    say(f"| {name} | {f:,} |")
say(f"| **total** | **{sum(f for _, f in parts):,}** |\n")

ar = pick(mode="allreduce", setting="as-run")  # shared memory; the netns rows have their own section
if ar:
    xs = [float(r["bytes"]) for r in ar]
    ys = [float(r["us"]) * 1e-6 for r in ar]
    # 2-rank ring allreduce: 2(P-1) = 2 latency terms, 2(P-1)/P = 1 byte-time per byte.
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    beta = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sum((x - mx) ** 2 for x in xs)
    alpha = max((my - beta * mx) / 2, 0.0)
    say("## Scaling beyond this machine: an α-β model of the allreduce\n")
    say("Measured here between 2 ranks over shared memory (`gan_bench --allreduce`, 4 B to 4 MiB), fitted "
        "to a 2-rank ring allreduce t = 2α + n·β: "
        f"**α = {alpha * 1e6:.2f} µs, β = {beta * 1e9:.3f} ns/B** ({1 / beta / 1e9:.1f} GB/s).\n")
    say("| bytes | measured µs | model µs |\n|---|---|---|")
    for x, y in zip(xs, ys):
        say(f"| {int(x):,} | {y * 1e6:.1f} | {(2 * alpha + x * beta) * 1e6:.1f} |")
    r64 = one(setting="as-run", mode="train", ranks=1, batch=64)
    r256 = one(setting="as-run", mode="train", ranks=1, batch=256)
    t64, t256 = float(r64["step_us"]) * 1e-6, float(r256["step_us"]) * 1e-6
    per_sample = (t256 - t64) / 192
    fixed = t64 - 64 * per_sample
    sizes = [4 * 100609, 4 * 114064]  # D's and G's gradient slabs, one allreduce each per step
    say(f"\nA step moves D's and G's gradients, {sizes[0]:,} + {sizes[1]:,} bytes, in two ring allreduces: "
        "T(P) = Σ [2(P−1)α + 2(P−1)/P · n·β]. Compute per step measured here at 1 rank: "
        f"{t64 * 1e6:.0f} µs at batch 64 ({per_sample * 1e6:.2f} µs per sample + {fixed * 1e6:.0f} µs fixed). "
        "Efficiency = compute ÷ (compute + allreduce), with no overlap. Network figures are **assumed**, "
        "not measured: 100 Gb/s InfiniBand α = 2 µs, β = 0.08 ns/B (12.5 GB/s); 10 Gb/s Ethernet (TCP) "
        "α = 30 µs, β = 0.8 ns/B (1.25 GB/s).\n")
    say("| network | ranks | allreduce per step | efficiency at batch 64 | per-rank batch for ≥ 90% |")
    say("|---|---|---|---|---|")
    for net, a_, b_ in (("100 Gb/s InfiniBand", 2e-6, 0.08e-9), ("10 Gb/s Ethernet", 30e-6, 0.8e-9)):
        for P in (8, 64, 512):
            T = sum(2 * (P - 1) * a_ + 2 * (P - 1) / P * s_ * b_ for s_ in sizes)
            eff = t64 / (t64 + T)
            need = max(1, int((9 * T - fixed) / per_sample) + 1)
            say(f"| {net} | {P} | {T * 1e6:,.0f} µs | {eff:.0%} | {need:,} |")
    say("\nThe latency term 2(P−1)α grows linearly with ranks for the ring algorithm; at 512 ranks Open MPI "
        "switches to tree/recursive-doubling algorithms for small messages, so these latency figures are "
        "an upper bound.\n")
net = pick(mode="allreduce", setting="netns-1gbit")
if net:
    xs = [float(r["bytes"]) for r in net]
    ys = [float(r["us"]) * 1e-6 for r in net]
    big = [(x, y) for x, y in zip(xs, ys) if x >= 65536]
    beta_fit = (big[-1][1] - big[0][1]) / (big[-1][0] - big[0][0])
    alpha_fit = ys[0] / 2
    nominal = 8e-9  # 1 Gbit/s = 125 MB/s
    sizes = [4 * 100609, 4 * 114064]
    say("## Emulated nodes with 1 Gbit/s links\n")
    say("`tests/netns/measure_rate_limited.sh` (run by the benchmark as root): one rank per network "
        "namespace, links capped at 1 Gbit/s with `tc tbf`, TCP between nodes, batch 64 per rank. "
        "The 4-node case shares this machine's 2 cores among 4 ranks, but compute is a few percent of "
        f"its step. Allreduce over the capped links (2 nodes): α ≈ {alpha_fit * 1e6:.1f} µs (half the "
        f"4-byte time), effective β = {beta_fit * 1e9:.1f} ns/B ({1 / beta_fit / 1e6:.0f} MB/s, from 64 KiB "
        "to 4 MiB) against the nominal 8 ns/B (125 MB/s): TCP through a token-bucket shaper gets about "
        "half the nominal rate.\n")
    say("| nodes | step ms | allreduce share | allreduce ms per step, measured | model, nominal β | model, fitted β |")
    say("|---|---|---|---|---|---|")
    for n in (2, 4):
        r = one(setting="netns-1gbit", mode="train", nodes=n)
        if not r:
            continue
        step = float(r["step_us"]) * 1e-3
        share = float(r["allreduce_frac"])
        model = lambda b: sum(2 * (n - 1) * alpha_fit + 2 * (n - 1) / n * s_ * b for s_ in sizes) * 1e3
        say(f"| {n} | {step:.1f} | {share:.0%} | {step * share:.1f} | {model(nominal):.1f} | {model(beta_fit):.1f} |")
    say("\nReading it: with 2 nodes a step's two allreduces (0.4 MB each, with compute between them) "
        "finish faster than even the nominal model, because the shaper lets a 256 KiB burst through at "
        "the veth's speed, while the microbenchmark's back-to-back messages drain that bucket (hence its "
        "lower effective rate). With 4 nodes the measured time is 3× the fitted model: the shapers drop "
        "nothing (tests/bench/scale_out.sh counts tbf and veth drops and TCP retransmits: 0), but four "
        "ranks busy-polling on 2 cores wait on the scheduler (docs/performance.md, \"The 4-node case "
        "and incast\"). Slow links make the allreduce the whole step; the per-rank batch table above "
        "says how much work per rank it takes to hide it.\n")
print("\n".join(out))
