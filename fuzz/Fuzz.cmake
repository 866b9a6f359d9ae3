# Included by the top-level CMakeLists.txt before any library when STRONGROOM_FUZZ is on:
# every library of ours is compiled with libFuzzer's coverage instrumentation plus
# ASan and UBSan, and only fuzz/ links the fuzzer runtime (bash ops/fuzz.sh builds
# just the fuzz targets, in build-fuzz/, with clang).
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "STRONGROOM_FUZZ needs clang (libFuzzer): "
                      "cmake -DCMAKE_CXX_COMPILER=clang++ -DSTRONGROOM_FUZZ=ON ...")
endif()
if(STRONGROOM_SANITIZE)
  message(FATAL_ERROR "STRONGROOM_FUZZ already builds with ASan+UBSan; leave STRONGROOM_SANITIZE off")
endif()
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
                    -fno-sanitize-recover=undefined)
add_link_options(-fsanitize=address,undefined)
