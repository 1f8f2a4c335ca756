# `cmake --install`: the libraries, their headers, gpt2-oracle and a CMake
# package, so that another project's CI can check its kernels with
#
#   find_package(gpt2_oracle CONFIG REQUIRED)
#   target_link_libraries(my_test PRIVATE gpt2_oracle::testing)
#
# Layout under the prefix:
#   bin/gpt2-oracle
#   lib/libgpt2_{model,reference,optimized,oracle,fixtures,testing}.a
#   (and gpt2_oracle::plugin_abi, the C header alone, for a plugin)
#   include/gpt2_oracle/{plugin.h,testing.h}          the entry points
#   include/gpt2_oracle/{model,reference,optimized,oracle,fixtures}/*.h
#   lib/cmake/gpt2_oracle/                            the package
#   lib/pkgconfig/gpt2_oracle.pc
# Headers include each other as "model/trace.h", so the imported targets put
# both include/ and include/gpt2_oracle/ on the include path.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(package_dir ${CMAKE_INSTALL_LIBDIR}/cmake/gpt2_oracle)
target_include_directories(gpt2_model PUBLIC
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>
  $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}/gpt2_oracle>)

# The plugin ABI alone (gpt2_oracle/plugin.h, plain C): what a plugin links.
add_library(gpt2_plugin_abi INTERFACE)
target_include_directories(gpt2_plugin_abi INTERFACE
  $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include> $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)

# gpt2_oracle::NAME for each library, in this build (aliases) and installed.
set(exported "")
foreach(name model reference optimized oracle fixtures testing plugin_abi)
  if(TARGET gpt2_${name})
    set_target_properties(gpt2_${name} PROPERTIES EXPORT_NAME ${name})
    add_library(gpt2_oracle::${name} ALIAS gpt2_${name})
    list(APPEND exported gpt2_${name})
  endif()
endforeach()
if(TARGET gpt2-oracle)
  add_executable(gpt2_oracle::gpt2-oracle ALIAS gpt2-oracle)
  list(APPEND exported gpt2-oracle)
endif()

install(TARGETS ${exported} EXPORT gpt2_oracleTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT gpt2_oracleTargets NAMESPACE gpt2_oracle:: DESTINATION ${package_dir})

# Headers: every library header (not the tests' helpers), and the entry points.
foreach(dir model reference optimized oracle fixtures)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${dir}/ DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/gpt2_oracle/${dir}
          FILES_MATCHING PATTERN "*.h" PATTERN "*test*" EXCLUDE PATTERN "testdata" EXCLUDE
          PATTERN "golden" EXCLUDE PATTERN "python" EXCLUDE)
endforeach()
install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/gpt2_oracle/
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/gpt2_oracle FILES_MATCHING PATTERN "*.h")

configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/gpt2_oracleConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/gpt2_oracleConfig.cmake
                              INSTALL_DESTINATION ${package_dir})
# 0.x: a minor version may change the interfaces.
write_basic_package_version_file(${PROJECT_BINARY_DIR}/gpt2_oracleConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/gpt2_oracleConfig.cmake
              ${PROJECT_BINARY_DIR}/gpt2_oracleConfigVersion.cmake
              ${PROJECT_SOURCE_DIR}/cmake/gpt2_oracle_dependencies.cmake
              ${PROJECT_SOURCE_DIR}/cmake/gpt2_oracle_conformance.cmake
        DESTINATION ${package_dir})

# pkg-config, for builds without CMake (a C plugin needs only the cflags).
file(RELATIVE_PATH pc_to_prefix ${CMAKE_INSTALL_FULL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
configure_file(${PROJECT_SOURCE_DIR}/cmake/gpt2_oracle.pc.in ${PROJECT_BINARY_DIR}/gpt2_oracle.pc
               @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/gpt2_oracle.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
