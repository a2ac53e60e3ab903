# The fuzz targets (tests/fuzz/README.md), included by fuzz.cmake at the end of the top
# CMakeLists.txt. Each is one <name>_fuzz.cc linked with libFuzzer's main against openwit_core;
# `cmake --build build/fuzz --target openwit_fuzz` builds them all.
set(OPENWIT_FUZZ_TARGETS otlp_wire bulk_header otlp_json decompress wal_recovery active_file config search_query traceql logql)
add_custom_target(openwit_fuzz)
foreach(_name ${OPENWIT_FUZZ_TARGETS})
  add_executable(fuzz_${_name} "${CMAKE_SOURCE_DIR}/tests/fuzz/${_name}_fuzz.cc")
  target_compile_options(fuzz_${_name} PRIVATE ${OPENWIT_WARNINGS})
  target_link_libraries(fuzz_${_name} PRIVATE openwit_core)
  target_link_options(fuzz_${_name} PRIVATE -fsanitize=fuzzer)
  add_dependencies(openwit_fuzz fuzz_${_name})
endforeach()
# Writes the seed corpora of tests/fuzz/corpus from our own builders (`make fuzz-seeds`).
add_executable(openwit_fuzz_seeds "${CMAKE_SOURCE_DIR}/tests/fuzz/make_seeds.cc")
target_compile_options(openwit_fuzz_seeds PRIVATE ${OPENWIT_WARNINGS})
target_link_libraries(openwit_fuzz_seeds PRIVATE openwit_core)
add_dependencies(openwit_fuzz openwit_fuzz_seeds)
# The unit tests of this tree (the ASan+UBSan ones) link the same instrumented libraries; their own
# sources need neither libFuzzer's coverage nor -O1, and at -O0 without coverage they compile in
# 40% of the time (make test builds them on every CI run). ASan and UBSan stay on for them. One
# exception: otlp_wire_test.cc compares 60,000 mutated messages with protobuf in its own code,
# which takes twice as long at -O0 (77 s instead of 40, against ctest's 120 s timeout).
target_compile_options(openwit_unit_tests PRIVATE -O0 -fno-sanitize=fuzzer-no-link)
set_source_files_properties("${CMAKE_SOURCE_DIR}/tests/unit/otlp_wire_test.cc" TARGET_DIRECTORY openwit_unit_tests
                            PROPERTIES COMPILE_OPTIONS -O1)
