#!/usr/bin/env bash
# The best generator and early stopping, checked against the run's own history.h5:
# OUT/best.h5 is written exactly at the scores that improve the Frechet distance with a
# nearest-neighbour ratio >= 0.9, holds that step's generator (the weights of the checkpoint
# kept at that step), and the tools read it;
# --patience K stops at the K-th score in a row without improvement (exit 0, final
# checkpoint written); a resume keeps the best score; --images and --scale-rule are
# printed and recorded.
source "$(dirname "$0")/lib.sh" "$@"
cd "$TMP"
BIN=$(dirname "$GAN")

# A checkpoint at every score, all kept, so best.h5 can be compared with that step's state.
mpi 2 --images 76800 --eval-every 50 --log-every 50 --sample-every 0 --checkpoint-every 50 --keep-checkpoints 12 \
  --out run > run.log 2>&1
check "a scored run exits 0" test $? -eq 0
check "--images: 76800 images = 600 steps of 128 printed" grep -q "length: 76800 images = 600 steps of 128" run.log
check "the effective Adam settings are printed" grep -q "optimizer: Adam lr 0.001414, beta1 0.8, beta2 0.998" run.log
check "the cool-down is printed in whole steps" \
  grep -qx "schedule: lr constant to step 450, then linearly to 0 at step 600 (--cooldown 0.25)" run.log
check "best.h5 exists" test -s run/best.h5
grep "best so far" run.log | sed 's/.* at step \([0-9]*\) .*/\1/' > written.txt
# The share classified as 0 a score needs: the real images' own less half a point, as printed.
sed -n 's/.* and >= \([0-9.]*\)% classified as 0 .*/\1/p' run.log > minfrac.txt
check "the best.h5 rule is printed with its guards" test -s minfrac.txt
check "best.h5 written only at improving scores, and at every one" $PY - <<'PY'
import h5py, numpy as np
h = h5py.File("run/history.h5", "r", libver="latest", swmr=True)["metrics"]
steps, fd, nn, frac = h["step"][:], h["eval_fd"][:], h["eval_nn"][:], h["eval_frac"][:]
minfrac = float(open("minfrac.txt").read()) / 100 - 5e-5  # printed with two decimals
best, want = np.inf, []
for s, f, n, c in zip(steps, fd, nn, frac):
    if np.isfinite(f) and f < best and n >= 0.9 and c >= minfrac:
        best = f; want.append(int(s))
got = [int(x) for x in open("written.txt").read().split()]
assert got == want, (got, want)
assert len(want) >= 2, want
with h5py.File("run/best.h5", "r") as b, h5py.File("run/checkpoint.h5", "r") as c:
    assert b.attrs["best_step"] == want[-1] == b.attrs["step"], (b.attrs["best_step"], want)
    i = list(steps).index(want[-1])
    assert abs(b.attrs["best_fd"] - fd[i]) < 1e-9
    for k in ("generator/dense1/kernel", "generator/dense2/bias", "discriminator/dense1/kernel"):
        assert b[k].shape == c[k].shape
# It holds that step's generator: the weights of the checkpoint kept at that step, bit for bit.
with h5py.File("run/best.h5", "r") as b, h5py.File(f"run/checkpoint_{want[-1]:010d}.h5", "r") as c:
    assert c.attrs["step"] == want[-1]
    names = []
    c["generator"].visititems(lambda n, o: names.append("generator/" + n) if isinstance(o, h5py.Dataset) else None)
    assert len(names) == 4, names
    for k in names:
        assert b[k][()].tobytes() == c[k][()].tobytes(), f"best.h5 {k} is not step {want[-1]}'s"
    # (and the same networks' discriminator and Adam state: the checkpoint layout of that step)
    for k in ("discriminator/dense1/kernel", "optimizer/generator/m", "optimizer/discriminator/v"):
        assert b[k][()].tobytes() == c[k][()].tobytes(), f"best.h5 {k} is not step {want[-1]}'s"
    assert abs(c.attrs["effective_beta1"] - 0.8) < 1e-12 and c.attrs["images"] == 76800 and c.attrs["steps"] == 600
PY
"$BIN/gan_sample" --checkpoint run/best.h5 -n 16 --out best.png > /dev/null 2>&1
check "gan_sample reads best.h5" test -s best.png
"$BIN/gan_eval" --checkpoint run/best.h5 -n 200 > eval.log 2>&1
check "gan_eval reads best.h5" grep -q "^RESULT step=$(tail -1 written.txt) " eval.log

# --patience 1: the run ends at the first score that does not improve.
mpi 2 --steps 6000 --eval-every 50 --log-every 50 --sample-every 0 --checkpoint-every 0 --patience 1 --out pat > pat.log 2>&1
check "--patience exits 0" test $? -eq 0
check "--patience says why it stopped" grep -q "stopped early at step .* 1 scores without improvement (--patience 1)" pat.log
check "--patience stopped at the first score without improvement, with a final checkpoint there" $PY - <<'PY'
import h5py, numpy as np
h = h5py.File("pat/history.h5", "r", libver="latest", swmr=True)["metrics"]
steps, fd, nn, frac = h["step"][:], h["eval_fd"][:], h["eval_nn"][:], h["eval_frac"][:]
minfrac = float(open("minfrac.txt").read()) / 100 - 5e-5
best, stop = np.inf, None
for s, f, n, c in zip(steps, fd, nn, frac):
    if np.isfinite(f) and f < best and n >= 0.9 and c >= minfrac: best = f
    else: stop = int(s); break
assert stop is not None and stop < 6000, stop
assert int(steps[-1]) == stop, (steps[-1], stop)
with h5py.File("pat/checkpoint.h5", "r") as c:
    assert c.attrs["step"] == stop, (c.attrs["step"], stop)
PY
check "--patience without --eval-every is refused" bash -c "'$MPIRUN' --oversubscribe -n 1 '$GAN' --eval-every 0 --patience 3 2>&1 | grep -q 'needs scores: give --eval-every'"

# A resume keeps the best score: best.h5 is replaced only by a better one.
best_before=$($PY -c "import h5py; print(h5py.File('run/best.h5','r').attrs['best_fd'])")
mpi 2 --steps 700 --eval-every 50 --log-every 50 --sample-every 0 --checkpoint-every 0 --out run --resume > resume.log 2>&1
check "the resumed run recalls the best score" grep -q "best so far: Frechet distance .* at step $(tail -1 written.txt) (run/best.h5)" resume.log
check "after the resume, best.h5 is still the best of all scores" $PY - <<PY
import h5py, numpy as np
h = h5py.File("run/history.h5", "r", libver="latest", swmr=True)["metrics"]
fd, nn, frac = h["eval_fd"][:], h["eval_nn"][:], h["eval_frac"][:]
ok = np.isfinite(fd) & (nn >= 0.9) & (frac >= float(open("minfrac.txt").read()) / 100 - 5e-5)
b = h5py.File("run/best.h5", "r").attrs["best_fd"]
assert abs(b - fd[ok].min()) < 1e-9 and b <= $best_before, (b, fd[ok].min())
PY
summary
