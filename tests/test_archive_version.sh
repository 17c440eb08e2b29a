#!/usr/bin/env bash
# --version names the commit in a build from a source archive too: `git archive` substitutes
# the commit into cmake/archive_commit.txt (.gitattributes: export-subst), and
# cmake/git_commit.cmake, which writes the header behind --version, reads it there when there
# is no .git. A plain copy without .git (unsubstituted file) still says "unknown".
source "$(dirname "$0")/lib.sh" "$@"
SRC=$(cd "$HERE/.." && pwd)
if ! git -C "$SRC" rev-parse HEAD > /dev/null 2>&1; then
  echo "test_archive_version: $SRC is not a git checkout; nothing to archive"; exit 77
fi
head=$(git -C "$SRC" rev-parse --short=12 HEAD)
mkdir "$TMP/archive" "$TMP/copy"
git -C "$SRC" archive HEAD | tar -x -C "$TMP/archive"
check "the archive has no .git" test ! -e "$TMP/archive/.git"
cmake -DSRC="$TMP/archive" -DOUT="$TMP/archive.h" -P "$TMP/archive/cmake/git_commit.cmake"
check "a build from git archive names HEAD ($head): $(tail -1 "$TMP/archive.h")" \
  grep -qx "#define GAN_GIT_COMMIT \"$head\"" "$TMP/archive.h"
cp -r "$SRC/cmake" "$TMP/copy/"
cmake -DSRC="$TMP/copy" -DOUT="$TMP/copy.h" -P "$TMP/copy/cmake/git_commit.cmake"
check "a plain copy without .git says unknown: $(tail -1 "$TMP/copy.h")" \
  grep -qx '#define GAN_GIT_COMMIT "unknown"' "$TMP/copy.h"
summary
