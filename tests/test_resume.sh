#!/usr/bin/env bash
# Resume: bitwise continuation on 1 and 2 ranks, history continuation without
# duplicates, --keep-checkpoints, resuming on another rank count, and clear errors
# for checkpoints that do not match the options or are malformed.
source "$(dirname "$0")/lib.sh" "$@"
cd "$TMP"
# --cooldown 0: these resumes continue a shorter run (--steps 100) to 200 steps, and the
# cool-down follows --steps, so each leg would have its own. The cool-down's own resume is
# checked below, from inside the uninterrupted run's decay.
common=(--log-every 50 --sample-every 50 --checkpoint-every 60 --cooldown 0)

for n in 1 2; do
  mpi $n --steps 200 "${common[@]}" --out run > /dev/null 2>&1 && mv run full$n
  mpi $n --steps 100 "${common[@]}" --out run > /dev/null 2>&1
  mpi $n --steps 200 "${common[@]}" --out run --resume > resume.log 2>&1
  check "-n $n: resume exits 0" test $? -eq 0
  check "-n $n: says what it restored" grep -q "at step 100: networks, Adam state, random streams and data order restored" resume.log
  check "-n $n: 100 + resume 100 == 200 steps, byte-identical checkpoint" cmp full$n/checkpoint.h5 run/checkpoint.h5
  check "-n $n: history continues without duplicates" $PY - <<PY
import h5py, numpy as np
a = h5py.File("full$n/history.h5", "r", libver="latest", swmr=True)
b = h5py.File("run/history.h5", "r", libver="latest", swmr=True)
assert list(b["metrics/step"][:]) == [50, 100, 150, 200], b["metrics/step"][:]
assert list(b["samples/step"][:]) == [50, 100, 150, 200], b["samples/step"][:]
# everything but wall-clock columns is identical to the uninterrupted run
for k in ("d_loss", "g_loss", "d_real", "d_fake"):
    assert np.array_equal(a["metrics/" + k][:], b["metrics/" + k][:]), k
assert np.array_equal(a["samples/images"][:], b["samples/images"][:])
PY
  rm -rf run
done

# With the generator's moving average on, it is restored too.
mpi 2 --steps 200 "${common[@]}" --ema-decay 0.99 --out run > /dev/null 2>&1 && mv run ema_full
mpi 2 --steps 100 "${common[@]}" --ema-decay 0.99 --out run > /dev/null 2>&1
mpi 2 --steps 200 "${common[@]}" --ema-decay 0.99 --out run --resume > /dev/null 2>&1
check "--ema-decay: 100 + resume 100 == 200 steps, byte-identical (EMA included)" cmp ema_full/checkpoint.h5 run/checkpoint.h5
rm -rf run

# A history from before the later /metrics columns existed is continued with them filled.
mpi 2 --steps 100 --eval-every 50 --log-every 50 --sample-every 0 --out old > /dev/null 2>&1
$PY -c "
import h5py; f = h5py.File('old/history.h5', 'a')
for k in ('eval_bg', 'eval_speckle', 'eval_s', 'skipped_steps'): del f['metrics/' + k]"
mpi 2 --steps 150 --eval-every 50 --log-every 50 --sample-every 0 --out old --resume > /dev/null 2>&1
check "an older history continues: NaN for the missing scores, 0 skipped, new rows filled" $PY -c "
import h5py, numpy as np; m = h5py.File('old/history.h5', 'r', libver='latest', swmr=True)['metrics']
assert list(m['step'][:]) == [50, 100, 150], m['step'][:]
assert np.isnan(m['eval_bg'][:2]).all() and np.isfinite(m['eval_bg'][2]) and list(m['skipped_steps'][:]) == [0, 0, 0]"
rm -rf old

# With augmentation of D's inputs, its random draws continue exactly too.
aug=(--augment translate,cutout)
mpi 2 --steps 200 "${common[@]}" "${aug[@]}" --out run > /dev/null 2>&1 && mv run aug_full
mpi 2 --steps 100 "${common[@]}" "${aug[@]}" --out run > /dev/null 2>&1
mpi 2 --steps 200 "${common[@]}" "${aug[@]}" --out run --resume > /dev/null 2>&1
check "--augment: 100 + resume 100 == 200 steps, byte-identical" cmp aug_full/checkpoint.h5 run/checkpoint.h5
# Not against --augment none: augmentation draws from the noise stream, so any run with it
# differs from one without, even if it left the images unchanged. translate, cutout and both
# make the same draws (4 per image whatever the flags), so their random states and data order
# stay identical and only what D saw can tell them apart: both differs from translate alone
# if the cutout does something, and from cutout alone if the translation does.
for a in translate cutout; do
  mpi 2 --steps 200 "${common[@]}" --augment $a --out aug_$a > /dev/null 2>&1
  rc=$?
  check "--augment $a: exit 0 (got $rc)" test $rc -eq 0
done
check "--augment: the cutout changes what D sees (translate,cutout vs translate: same draws, other weights)" \
  $PY "$HERE/same_state.py" aug_full/checkpoint.h5 aug_translate/checkpoint.h5 --same state/ranks state/orders \
  --differ discriminator/dense1/kernel generator/dense2/kernel
check "--augment: the translation changes what D sees (translate,cutout vs cutout: same draws, other weights)" \
  $PY "$HERE/same_state.py" aug_full/checkpoint.h5 aug_cutout/checkpoint.h5 --same state/ranks state/orders \
  --differ discriminator/dense1/kernel generator/dense2/kernel
rm -rf run aug_translate aug_cutout

# The cool-down (on by default: the last 50 of 200 steps) is a function of the step and
# --steps, so a resume continues it exactly: the run resumed from its own step-180 checkpoint,
# inside the decay, ends as the uninterrupted run does.
cool=(--steps 200 --log-every 50 --sample-every 50 --checkpoint-every 60)
mpi 2 "${cool[@]}" --keep-checkpoints 3 --out cool > /dev/null 2>&1
mpi 2 "${cool[@]}" --out cool_resumed --resume cool/checkpoint_0000000180.h5 > cool.log 2>&1
rc=$?  # before the message's $(...) resets $?
check "--cooldown: resume inside the decay exits 0 ($(tail -1 cool.log))" test $rc -eq 0
check "--cooldown: the resume says where the schedule stands" \
  grep -q "schedule: resuming at step 180 of 200 with the lr at 0.4 of its value (--cooldown 0.25 of 200 steps)" cool.log
check "--cooldown: resumed inside the decay == uninterrupted" \
  $PY "$HERE/same_state.py" cool/checkpoint.h5 cool_resumed/checkpoint.h5
check "--cooldown changes the run (it is not a no-op)" bash -c "$PY '$HERE/same_state.py' cool/checkpoint.h5 full2/checkpoint.h5 2>&1 | grep -q ' differs '"
rm -rf cool cool_resumed

# Resume from an older checkpoint: history rows written after it are dropped.
mpi 2 --steps 150 "${common[@]}" --keep-checkpoints 2 --out keep > /dev/null 2>&1
check "--keep-checkpoints 2 keeps the newest two" \
  test "$(cd keep && ls checkpoint_*.h5 | tr '\n' ' ')" = "checkpoint_0000000120.h5 checkpoint_0000000150.h5 "
check "numbered checkpoint is the same file" cmp keep/checkpoint.h5 keep/checkpoint_0000000150.h5
mpi 2 --steps 200 "${common[@]}" --out keep --resume keep/checkpoint_0000000120.h5 > older.log 2>&1
check "resume from step 120 exits 0" test $? -eq 0
check "resume from 120 ends with the uninterrupted run's numbers" $PY "$HERE/same_state.py" full2/checkpoint.h5 keep/checkpoint.h5
check "history after resuming from 120 (not a log step): the uninterrupted run's rows, bitwise" $PY -c "
import h5py, numpy as np
a = h5py.File('full2/history.h5', 'r', libver='latest', swmr=True)
b = h5py.File('keep/history.h5', 'r', libver='latest', swmr=True)
assert list(b['metrics/step'][:]) == [50, 100, 150, 200], b['metrics/step'][:]
for k in ('d_loss', 'g_loss', 'd_real', 'd_fake'):  # row 150 averages steps 101-150 in both
    assert np.array_equal(a['metrics/' + k][:], b['metrics/' + k][:]), (k, a['metrics/' + k][:], b['metrics/' + k][:])"

# Another number of ranks: allowed, and said in one line.
mpi 1 --steps 260 "${common[@]}" --out keep --resume > ranks.log 2>&1
check "resume 2-rank checkpoint on 1 rank" test $? -eq 0
check "one line says shards and streams are re-derived" test "$(grep -c 'written by 2 ranks .* this run has 1 .* re-derived' ranks.log)" -eq 1
check "layout after resuming on 1 rank" $PY "$HERE/check_layout.py" keep --steps 260 --world 1
check "Adam's settings are re-derived for the new global batch, and it says so" \
  grep -q "trained on 2 ranks; Adam's settings above are re-derived for this run's global batch of 64 (--scale-rule sqrt)" ranks.log
check "the effective values recorded are the 1-rank ones (kappa 1: as given)" $PY -c "
import h5py; a = h5py.File('keep/checkpoint.h5', 'r').attrs
assert a['scale_kappa'] == 1.0 and a['effective_lr'] == a['lr'] and a['effective_beta1'] == a['beta1'], dict(a)"

# expect_resume_error PATTERN ARGS...: exit 1 with PATTERN printed once.
expect_resume_error() {
  local pattern=$1; shift
  TIMEOUT=60 mpi 2 --steps 300 --out bad "$@" > out.txt 2> err.txt
  local got=$?
  if [ "$got" -eq 1 ] && [ "$(grep -c -F -- "$pattern" err.txt)" -eq 1 ]; then ok; else
    bad "resume $*: exit $got, stderr: $(head -c 500 err.txt)"; fi
}
expect_resume_error "/generator/dense1/kernel has shape [100, 128], but the options need [100, 64]" \
  --resume full2/checkpoint.h5 --g-hidden 64
expect_resume_error "/generator/dense1/kernel has shape [100, 128], but the options need [20, 128]" \
  --resume full2/checkpoint.h5 --noise-dim 20
expect_resume_error "--resume nothere.h5: cannot read: No such file or directory" --resume nothere.h5
RESTAMP="$PY $HERE/../jobs/restamp_checkpoint.py"
head -c 100000 full2/checkpoint.h5 > truncated.h5
expect_resume_error "truncated.h5: truncated or padded: its header says" --resume truncated.h5
head -c 300 full2/checkpoint.h5 > stub.h5
expect_resume_error "stub.h5: truncated: 300 bytes, not even a checkpoint header" --resume stub.h5
cp full2/checkpoint.h5 flipped.h5 && printf '\x5a' | dd of=flipped.h5 bs=1 seek=1500000 conv=notrunc status=none
expect_resume_error "flipped.h5: checksum mismatch" --resume flipped.h5
# Edited on purpose with h5py, then re-sealed: the content checks must catch these.
cp full2/checkpoint.h5 nan.h5 && $PY -c "
import h5py, numpy as np
with h5py.File('nan.h5', 'r+') as f: f['discriminator/dense1/kernel'][3, 5] = np.nan" && $RESTAMP nan.h5 > /dev/null
expect_resume_error "nan.h5: the discriminator's weights or Adam moments contain NaN or infinity" --resume nan.h5
cp full2/checkpoint.h5 v2.h5 && $RESTAMP v2.h5 --format 2 > /dev/null
expect_resume_error "v2.h5: checkpoint format version 2; this gan_train" --resume v2.h5
cp full2/checkpoint.h5 attr99.h5 && $PY -c "
import h5py
with h5py.File('attr99.h5', 'r+') as f: f.attrs['format_version'] = 99" && $RESTAMP attr99.h5 > /dev/null
expect_resume_error "attr99.h5: format_version attribute 99 disagrees with the header's 1" --resume attr99.h5
cp full2/checkpoint.h5 perm.h5 && $PY -c "
import h5py
with h5py.File('perm.h5', 'r+') as f: f['state/orders'][0, 0] = 100000" && $RESTAMP perm.h5 > /dev/null
expect_resume_error "perm.h5: /state/orders row 0 is not a permutation of its shard" --resume perm.h5
cp full2/checkpoint.h5 dup.h5 && $PY -c "
import h5py
with h5py.File('dup.h5', 'r+') as f: f['state/orders'][0, 1] = f['state/orders'][0, 0]" && $RESTAMP dup.h5 > /dev/null
expect_resume_error "dup.h5: /state/orders row 0 is not a permutation of its shard" --resume dup.h5
cp full2/checkpoint.h5 stats.h5 && $PY -c "
import h5py
with h5py.File('stats.h5', 'r+') as f: f['state/stats'][1, 4] = 2.5" && $RESTAMP stats.h5 > /dev/null
expect_resume_error "stats.h5: /state/stats row 1 is not a set of finite sums and a step count" --resume stats.h5
# Checkpoints from before /state/stats existed still resume.
cp full2/checkpoint.h5 nostats.h5 && $PY -c "
import h5py
with h5py.File('nostats.h5', 'r+') as f: del f['state/stats']" && $RESTAMP nostats.h5 > /dev/null
check "a checkpoint without /state/stats resumes" \
  bash -c "timeout 120 '$MPIRUN' --oversubscribe -n 2 '$GAN' --steps 210 --out nostats_run --resume nostats.h5 > /dev/null 2>&1"
$PY -c "open('junk.h5', 'wb').write(b'not hdf5 at all' * 100)"
expect_resume_error "junk.h5: not a gan_train checkpoint (no checkpoint header)" --resume junk.h5
expect_resume_error "full2/history.h5: an HDF5 file without gan_train's checkpoint header" --resume full2/history.h5
cp full2/checkpoint.h5 edited.h5 && $PY -c "
import h5py
with h5py.File('edited.h5', 'r+') as f: f['generator/dense1/bias'][0] = 0.5" && $RESTAMP edited.h5 > /dev/null
check "an edited and re-sealed checkpoint resumes" \
  bash -c "timeout 120 '$MPIRUN' --oversubscribe -n 2 '$GAN' --steps 210 --out edited_run --resume edited.h5 > /dev/null 2>&1"
summary
