#!/usr/bin/env bash
# A full disk: a 4 MiB tmpfs holds one checkpoint (2.6 MB) but not a second beside it. The run
# exits 1 with a message naming the file and the reason, keeps the previous checkpoint and
# leaves no temporary file. Mounting the tmpfs needs root with CAP_SYS_ADMIN: without it the
# test prints SKIP and exits 77 ("skipped" in ctest); as root, a failed mount is a failure.
source "$(dirname "$0")/lib.sh" "$@"
cd "$TMP"
# The capability, not only uid 0: a container's root may lack CAP_SYS_ADMIN (bit 21).
cap_sys_admin() { local eff; eff=$(awk '/^CapEff:/ { print $2 }' /proc/self/status); (( (16#$eff >> 21) & 1 )); }
if [ "$(id -u)" -ne 0 ] || ! cap_sys_admin; then
  echo "SKIP: the full-disk test needs root with CAP_SYS_ADMIN to mount a tmpfs"
  exit 77
fi
mkdir -p small
mount -t tmpfs -o size=4m tmpfs small 2> mount.err
rc=$?
check "full disk: root mounts a 4 MiB tmpfs (exit $rc: $(head -c 300 mount.err))" test $rc -eq 0
if [ $rc -eq 0 ]; then
  trap 'umount "$TMP/small" 2> /dev/null; rm -rf "$TMP"' EXIT
  TIMEOUT=120 mpi 2 --steps 100 --checkpoint-every 20 --sample-every 0 --log-every 20 --out small/run > run.log 2> err.txt
  status=$?
  check "full disk: exit 1 (got $status)" test "$status" -eq 1
  check "full disk: message names the file and the reason: $(head -c 300 err.txt)" \
    grep -q "small/run/.checkpoint.h5.tmp: .*No space left on device" err.txt
  check "full disk: the previous checkpoint (step 20) is intact" test "$(ckpt_step small/run)" -eq 20
  check "full disk: no temporary file left" test ! -e small/run/.checkpoint.h5.tmp
  umount small
fi
summary
