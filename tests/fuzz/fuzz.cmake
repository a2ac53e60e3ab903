# The libFuzzer build (issue #11), included from the top CMakeLists.txt: with OPENWIT_FUZZ=ON
# (clang only; `make build-asan` configures build/asan so), every library of the project is
# compiled with coverage instrumentation for libFuzzer and with ASan+UBSan, and the fuzz targets
# of this folder (targets.cmake) are added once the top directory has declared the libraries
# they link. The unit tests of the same tree are the ASan+UBSan unit tests: one compile of the
# sources serves both (outside a fuzzer, the coverage hooks are the sanitizer runtime's no-ops). Arrow, protobuf, gRPC, yaml-cpp and zlib are Debian's or the wheel's, uninstrumented:
# libFuzzer then sees coverage of our code only, which is what we fuzz.
option(OPENWIT_FUZZ "Build the libFuzzer targets of tests/fuzz with ASan+UBSan (clang only)" OFF)
if(OPENWIT_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "OPENWIT_FUZZ needs clang (libFuzzer): configure with -DCMAKE_CXX_COMPILER=clang++")
  endif()
  # -O1 and line tables: fast enough to run, quicker to build in CI, and a stack trace with lines.
  # No NDEBUG: the DCHECKs of Arrow's headers check how our code uses Arrow, in the unit tests and
  # while fuzzing.
  set(CMAKE_CXX_FLAGS_RELWITHDEBINFO "-O1 -gline-tables-only")
  set(CMAKE_C_FLAGS_RELWITHDEBINFO "-O1 -gline-tables-only")
  add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer)
  add_link_options(-fsanitize=address,undefined)
  # Runs at the end of the top CMakeLists.txt, when openwit_core exists.
  cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL include "${CMAKE_SOURCE_DIR}/tests/fuzz/targets.cmake")
endif()
