# capture-help.cmake -- cmake -DEXE=<program> -DOUT=<dir>/<name> -P capture-help.cmake
# Writes <name>.help.txt (`--help`) and <name>.flags.md (`--help=markdown`),
# the documentation `cmake --install` puts in share/doc/mcm/. The program runs
# with MCM_LOG_LEVEL unset, so a stray variable cannot fail the build.
foreach(kind help.txt:--help flags.md:--help=markdown)
  string(REPLACE ":" ";" kv "${kind}")
  list(GET kv 0 ext)
  list(GET kv 1 arg)
  execute_process(COMMAND ${CMAKE_COMMAND} -E env --unset=MCM_LOG_LEVEL ${EXE} ${arg}
                  OUTPUT_FILE ${OUT}.${ext}.tmp RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${EXE} ${arg} failed (${rc}): ${err}")
  endif()
  file(RENAME ${OUT}.${ext}.tmp ${OUT}.${ext})
endforeach()
