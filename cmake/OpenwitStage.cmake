# One library per stage of the record's path (DESIGN.md "Layout"), with the boundaries between
# stages enforced by the compiler. src/ is never an include root of a stage: each stage's sources
# see headers only through the stage's own include root, build/include/<stage>/, which holds
# exactly what the graph in src/CMakeLists.txt allows:
#   <stage>/        -> src/<stage>/       its own folder
#   <S>/            -> src/<S>/           each stage it USES: all of S's headers (and S is linked)
#   <T>/<seam>.h    -> src/<T>/<seam>.h   each stage it REACHES: only T's SEAM headers
# So `#include "ingest/ingest_pipeline.h"` in the gateway is "No such file or directory" the moment
# it is written. Generated headers (protos, common/build_info.h) come from build/gen through the
# proto libraries. tests/boundaries/CMakeLists.txt proves that the doors stay shut.

set(OPENWIT_INCLUDE_ROOT "${PROJECT_BINARY_DIR}/include")
# Rebuilt from the graph at every configure. REMOVE_RECURSE removes the links, never what they
# point to.
file(REMOVE_RECURSE "${OPENWIT_INCLUDE_ROOT}")

# openwit_stage(<stage> [USES <stage>...] [REACHES <stage>...] [SEAM <header>...] [LINK <target>...])
# Declares the library openwit_<stage> from src/<stage>/**/*.cc. USES and REACHES name stages
# declared before (the graph is built bottom-up); SEAM lists this stage's headers, relative to its
# folder, that stages which REACH it may include (a seam header may include only common/ headers
# and generated ones); LINK lists outside libraries (PUBLIC: their headers appear in ours).
function(openwit_stage stage)
  cmake_parse_arguments(ARG "" "" "USES;REACHES;SEAM;LINK" ${ARGN})
  file(GLOB_RECURSE _sources CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/src/${stage}/*.cc")
  add_library(openwit_${stage} STATIC ${_sources})
  set_target_properties(openwit_${stage} PROPERTIES
    OPENWIT_USES "${ARG_USES}" OPENWIT_REACHES "${ARG_REACHES}" OPENWIT_SEAM "${ARG_SEAM}")
  foreach(_header ${ARG_SEAM})
    if(NOT EXISTS "${PROJECT_SOURCE_DIR}/src/${stage}/${_header}")
      message(FATAL_ERROR "stage ${stage}: seam header src/${stage}/${_header} does not exist")
    endif()
  endforeach()

  # The include root.
  set(_root "${OPENWIT_INCLUDE_ROOT}/${stage}")
  file(MAKE_DIRECTORY "${_root}")
  foreach(_seen ${stage} ${ARG_USES})
    file(CREATE_LINK "${PROJECT_SOURCE_DIR}/src/${_seen}" "${_root}/${_seen}" SYMBOLIC)
  endforeach()
  foreach(_reached ${ARG_REACHES})
    if(NOT TARGET openwit_${_reached})
      message(FATAL_ERROR "stage ${stage} REACHES ${_reached}, which is not declared before it")
    endif()
    if(_reached IN_LIST ARG_USES)
      message(FATAL_ERROR "stage ${stage} both USES and REACHES ${_reached}")
    endif()
    get_target_property(_seam openwit_${_reached} OPENWIT_SEAM)
    if(NOT _seam)
      message(FATAL_ERROR "stage ${stage} REACHES ${_reached}, which declares no SEAM header")
    endif()
    foreach(_header ${_seam})
      get_filename_component(_dir "${_root}/${_reached}/${_header}" DIRECTORY)
      file(MAKE_DIRECTORY "${_dir}")
      file(CREATE_LINK "${PROJECT_SOURCE_DIR}/src/${_reached}/${_header}" "${_root}/${_reached}/${_header}" SYMBOLIC)
    endforeach()
  endforeach()

  openwit_stage_context(openwit_${stage} ${stage})
  target_link_libraries(openwit_${stage} PUBLIC ${ARG_LINK})
  target_compile_options(openwit_${stage} PRIVATE ${OPENWIT_WARNINGS})
endfunction()

# Compiles `target` as if it were part of `stage`: the stage's include root, and the usage
# requirements of what the stage may use (the binary's main.cpp is compiled as roles; the boundary
# checks compile their probes as the stage they probe).
function(openwit_stage_context target stage)
  get_target_property(_uses openwit_${stage} OPENWIT_USES)
  target_include_directories(${target} PRIVATE "${OPENWIT_INCLUDE_ROOT}/${stage}")
  foreach(_used ${_uses})
    target_link_libraries(${target} PRIVATE openwit_${_used})
  endforeach()
  if(NOT target STREQUAL "openwit_${stage}")
    target_link_libraries(${target} PRIVATE openwit_${stage})
  endif()
endfunction()
