# git_commit.cmake: write OUT (a C header) with the source tree's git commit, run at every
# build (cmake -DSRC=... -DOUT=... -P git_commit.cmake). "-dirty" is appended when tracked
# files differ from the commit. Without git or a .git (a source archive) the commit is read
# from cmake/archive_commit.txt, where `git archive` substituted it (.gitattributes:
# export-subst), else from SRC/GIT_COMMIT if that file exists (a release script can write it),
# else "unknown".
# The header is rewritten only when its text changes, so an unchanged tree rebuilds nothing.
set(commit "")
find_package(Git QUIET)
if(GIT_FOUND AND EXISTS "${SRC}/.git")
  execute_process(COMMAND "${GIT_EXECUTABLE}" -C "${SRC}" rev-parse --short=12 HEAD
                  OUTPUT_VARIABLE commit RESULT_VARIABLE rc OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
  if(rc EQUAL 0)
    execute_process(COMMAND "${GIT_EXECUTABLE}" -C "${SRC}" status --porcelain --untracked-files=no
                    OUTPUT_VARIABLE changes RESULT_VARIABLE rc2 ERROR_QUIET)
    if(rc2 EQUAL 0 AND NOT changes STREQUAL "")
      string(APPEND commit "-dirty")
    endif()
  else()
    set(commit "")
  endif()
endif()
if(commit STREQUAL "" AND EXISTS "${SRC}/cmake/archive_commit.txt")
  file(STRINGS "${SRC}/cmake/archive_commit.txt" archived LIMIT_COUNT 1)
  if(archived MATCHES "^[0-9a-f]+$") # not the unsubstituted $Format:...$ of a plain copy
    string(SUBSTRING "${archived}" 0 12 commit)
  endif()
endif()
if(commit STREQUAL "" AND EXISTS "${SRC}/GIT_COMMIT")
  file(STRINGS "${SRC}/GIT_COMMIT" commit LIMIT_COUNT 1)
endif()
if(commit STREQUAL "")
  set(commit "unknown")
endif()
set(text "/* Generated at build time by cmake/git_commit.cmake: do not edit. */\n#define GAN_GIT_COMMIT \"${commit}\"\n")
set(old "")
if(EXISTS "${OUT}")
  file(READ "${OUT}" old)
endif()
if(NOT old STREQUAL text)
  file(WRITE "${OUT}" "${text}")
endif()
