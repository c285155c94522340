# One block per dependency. All come from Debian bookworm packages (scripts/setup.sh installs them).

# OpenSSL 3.0: all cryptography, TLS and X.509.
find_package(OpenSSL 3.0 REQUIRED)

# nlohmann-json 3.11: JSON everywhere.
find_package(nlohmann_json 3.11 REQUIRED)

# fmt 9 + spdlog 1.10 (built against the external fmt).
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)

# prometheus-cpp 1.0: metrics registry and text exposition (core only; we serve /metrics ourselves).
find_package(prometheus-cpp REQUIRED COMPONENTS core)

# GoogleTest / GoogleMock.
find_package(GTest REQUIRED)

if(CLOISTER_COMPONENTS STREQUAL "all" OR "http" IN_LIST CLOISTER_COMPONENTS OR "redis" IN_LIST CLOISTER_COMPONENTS)
  # Boost 1.74: Asio + Beast, header-only.
  find_package(Boost 1.74 REQUIRED)
  find_package(Threads REQUIRED)
  # CLI11 2.1: command-line parsing (header-only).
  find_package(CLI11 REQUIRED)
endif()

if(CLOISTER_COMPONENTS STREQUAL "all" OR "engine" IN_LIST CLOISTER_COMPONENTS)
  # oneDNN 2.6 (libdnnl-dev, built with OpenMP): the engine's convolution/matmul/pooling/... kernels.
  # Imported by hand: Debian's dnnl-config.cmake demands OpenCL headers for its (unused) GPU runtime.
  find_path(DNNL_INCLUDE_DIR oneapi/dnnl/dnnl.hpp REQUIRED)
  find_library(DNNL_LIBRARY dnnl REQUIRED)
  add_library(cloister_dnnl INTERFACE IMPORTED)
  target_include_directories(cloister_dnnl SYSTEM INTERFACE ${DNNL_INCLUDE_DIR})
  target_link_libraries(cloister_dnnl INTERFACE ${DNNL_LIBRARY})
  find_package(OpenMP REQUIRED)
endif()

if(CLOISTER_COMPONENTS STREQUAL "all" OR "engine" IN_LIST CLOISTER_COMPONENTS)
  # ONNX 1.12 (libonnx-dev): the model protobuf schema, checker and shape inference; needs protobuf.
  find_package(Protobuf REQUIRED)
  find_package(ONNX REQUIRED)
endif()

if(CLOISTER_COMPONENTS STREQUAL "all" OR "services" IN_LIST CLOISTER_COMPONENTS OR "sqlite" IN_LIST CLOISTER_COMPONENTS)
  # SQLite 3 (libsqlite3-dev): the services' embedded state stores (libs/sqlite).
  find_package(SQLite3 REQUIRED)
  # libsodium 1.0.18: argon2id password hashing (cloister-platform's users).
  find_package(PkgConfig REQUIRED)
  pkg_check_modules(Sodium REQUIRED IMPORTED_TARGET libsodium)
endif()

if(CLOISTER_COMPONENTS STREQUAL "all" OR "imaging" IN_LIST CLOISTER_COMPONENTS)
  # DCMTK 3.6.7 (libdcmtk-dev): DICOM parsing and decompression (RLE, JPEG, JPEG-LS; no JPEG 2000).
  # Its CMake package config only (its pkg-config file is broken on bookworm).
  find_package(DCMTK REQUIRED CONFIG)
  # libpng 1.6 and libjpeg-turbo (libjpeg62-turbo-dev): PNG/JPEG decoding, PNG mask encoding.
  find_package(PNG REQUIRED)
  find_package(JPEG REQUIRED)
  # zlib: deflated DICOM is inflated by us, with a size cap, before DCMTK parses it.
  find_package(ZLIB REQUIRED)
endif()
