# Injected into llama-cpp-python's build after each project() call (CMAKE_PROJECT_INCLUDE in the
# Makefile's CMAKE_ARGS), to cut the compile that is most of a fresh set-up on 2 cores.
#
# llama-cpp-python forces llama.cpp's common library on (LLAMA_BUILD_COMMON) for its multimodal
# library, which is not built here (LLAVA_BUILD=OFF). The Python package loads only libllama and
# libggml*; libllama-common lands outside it (the wheel's lib/) and is never loaded. So its heavy
# C++ files (argument parsing, chat templates, an HTTP client: about 5 of the compile's minutes)
# give way to one empty file, which keeps the library that llama.cpp's install rule expects, and
# the HTTP client it alone links is not built. With CMAKE_UNITY_BUILD the rest compiles as a few
# unity files.
if(PROJECT_NAME STREQUAL "llama_cpp")
  file(WRITE "${CMAKE_BINARY_DIR}/llama-common-unused.cpp"
       "// llama.cpp's common library is not used by the Python package\n")
  cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL
                 set_target_properties llama-common PROPERTIES
                 SOURCES "${CMAKE_BINARY_DIR}/llama-common-unused.cpp" LINK_LIBRARIES "")
  cmake_language(DEFER DIRECTORY "${CMAKE_SOURCE_DIR}" CALL
                 set_target_properties cpp-httplib PROPERTIES EXCLUDE_FROM_ALL TRUE)
endif()
