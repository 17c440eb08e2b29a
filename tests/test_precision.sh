#!/usr/bin/env bash
# --precision: a short bf16 run trains (losses in the normal range) and records what ran; it
# is deterministic and resumes bit for bit; bf16 on a CPU without native bf16 warns and runs
# (emulated, forced here with DNNL_MAX_CPU_ISA=AVX2); auto names what it chose; bad words are
# refused. Skips the bf16 runs (not the rest) when this gan_train was built without oneDNN
# (test_no_onednn checks that build).
source "$(dirname "$0")/lib.sh" "$@"
cd "$TMP"
common=(--steps 300 --log-every 50 --sample-every 0 --checkpoint-every 150 --cooldown 0)

mpi 1 --precision fp16 --dry-run > bad.log 2>&1
check "--precision fp16 is refused (status 2)" test $? -eq 2
check "... naming the words" grep -q "precision: 'fp16', expected fp32, bf16 or auto" bad.log

mpi 1 --precision auto --steps 20 --out auto > auto.log 2>&1
check "auto runs" test $? -eq 0
check "auto names the precision, its kernel and why" grep -qE "^precision: (fp32: OpenBLAS|bf16 products).*\(--precision auto: " auto.log

if grep -q "built without oneDNN" <(mpi 1 --precision bf16 --dry-run 2>&1); then
  echo "test_precision: built without oneDNN: the bf16 runs are skipped"
  summary; exit
fi

mpi 2 --precision bf16 "${common[@]}" --out full > full.log 2>&1
check "bf16 run exits 0" test $? -eq 0
check "the start-up line names bf16" grep -q "^precision: bf16" full.log
check "bf16 trains: losses in the normal range, attributes record bf16" $PY - <<'PY'
import h5py, numpy as np
with h5py.File("full/history.h5", "r", libver="latest", swmr=True) as h:
    d, g = h["metrics/d_loss"][:], h["metrics/g_loss"][:]
assert np.isfinite(d).all() and np.isfinite(g).all(), (d, g)
assert 0.2 < d[-1] < 1.6 and 0.4 < g[-1] < 6.0, (d[-1], g[-1])
with h5py.File("full/checkpoint.h5", "r") as c:
    assert c.attrs["precision"] == "bf16" and c.attrs["effective_precision"] == "bf16", dict(c.attrs)
PY
mpi 2 --precision bf16 "${common[@]}" --out again > /dev/null 2>&1
check "bf16 is deterministic: the same run twice, bitwise the same state" $PY "$HERE/same_state.py" full/checkpoint.h5 again/checkpoint.h5
mpi 2 --precision bf16 "${common[@]/300/150}" --out run > /dev/null 2>&1
mpi 2 --precision bf16 "${common[@]}" --out run --resume > resume.log 2>&1
check "bf16 resume exits 0" test $? -eq 0
check "bf16: 150 + resume 150 == 300 steps, bitwise" $PY "$HERE/same_state.py" full/checkpoint.h5 run/checkpoint.h5

DNNL_MAX_CPU_ISA=AVX2 mpi 1 --precision bf16 --steps 50 --out emulated > emulated.log 2>&1
check "emulated bf16 (no native bf16 instructions) runs" test $? -eq 0
check "... and warns that it is slower than fp32" grep -q "^warning: this CPU has no native bf16" emulated.log
check "... and says it is emulated" grep -q "^precision: bf16 products emulated" emulated.log
DNNL_MAX_CPU_ISA=AVX2 mpi 1 --precision auto --steps 20 --out auto_emulated > auto_emulated.log 2>&1
check "auto without native bf16 is fp32" grep -q "^precision: fp32: .*(--precision auto: no native bf16 on this CPU)" auto_emulated.log
if grep -q "native bf16 on this CPU)" auto.log; then  # a native CPU: auto keeps fp32 at small batches
  mpi 1 --precision auto --batch-size 4 --steps 20 --out auto_b4 > auto_b4.log 2>&1
  check "auto at batch 4 is fp32, saying why" grep -q "^precision: fp32: .*(--precision auto: batch below 8 per rank" auto_b4.log
fi
summary
