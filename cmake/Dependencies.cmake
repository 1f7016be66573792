# Every external dependency, found once. All come from Debian packages (scripts/install-deps).
find_package(Threads REQUIRED)
find_package(absl CONFIG REQUIRED)
find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(yaml-cpp REQUIRED)
find_package(prometheus-cpp CONFIG REQUIRED)
# libcrypto (SHA-256 of uploaded datasets); gRPC already links OpenSSL.
find_package(OpenSSL REQUIRED)

# Torch's config appends its flags to CMAKE_CXX_FLAGS globally; keep that out of targets that do
# not touch tensors and expose torch through an interface target instead.
set(_tristage_saved_cxx_flags "${CMAKE_CXX_FLAGS}")
find_package(Torch REQUIRED)
set(CMAKE_CXX_FLAGS "${_tristage_saved_cxx_flags}")
add_library(tristage_torch INTERFACE)
target_link_libraries(tristage_torch INTERFACE ${TORCH_LIBRARIES})
separate_arguments(_torch_flags UNIX_COMMAND "${TORCH_CXX_FLAGS}")
target_compile_options(tristage_torch INTERFACE ${_torch_flags})

find_program(GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)

# Versions that `tristage check_install` reports, fixed at configure time. prometheus-cpp's CMake
# config carries no version, so Debian's package database answers for it.
function(_tristage_dpkg_version package out)
  execute_process(COMMAND dpkg-query -W "-f=\${Version}" ${package}
                  OUTPUT_VARIABLE version ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
  set(${out} "${version}" PARENT_SCOPE)
endfunction()
if(NOT prometheus-cpp_VERSION)
  _tristage_dpkg_version(prometheus-cpp-dev prometheus-cpp_VERSION)
endif()
_tristage_dpkg_version(libtorch-dev _torch_package_version)
if(_torch_package_version)
  set(Torch_VERSION "${Torch_VERSION} (Debian ${_torch_package_version})")
endif()
set(TRISTAGE_DEP_VERSIONS
    "libtorch=${Torch_VERSION}"
    "grpc=${gRPC_VERSION}"
    "protobuf=${Protobuf_VERSION}"
    "abseil=${absl_VERSION}"
    "nlohmann_json=${nlohmann_json_VERSION}"
    "yaml-cpp=${yaml-cpp_VERSION}"
    "prometheus-cpp=${prometheus-cpp_VERSION}")
