# gpt2_oracle_add_conformance_test(NAME <test> PLUGIN <target>
#                                  [MODEL <preset>] [KERNELS <set>...] [TIMEOUT <seconds>]
#                                  [ARGS <more gpt2-oracle arguments>...])
#
# Registers a CTest that runs the conformance suite on the kernel sets of a
# plugin: <target> is a MODULE or SHARED library exporting
# gpt2_oracle_plugin_entry (gpt2_oracle/plugin.h). The test runs
#   gpt2-oracle conformance --plugin $<TARGET_FILE:<target>> --model <preset> [--kernel <set>]...
# (MODEL defaults to tiny; KERNELS to every set the plugin registers;
# TIMEOUT, each plugin call's limit, to gpt2-oracle's default) and passes when
# every scenario passes. A failure prints the table: the located finding
# (tensor, layer, position), replay's findings per op, or "crashed (signal
# 11) in block.0 attention" when the plugin crashed.
function(gpt2_oracle_add_conformance_test)
  cmake_parse_arguments(arg "" "NAME;PLUGIN;MODEL;TIMEOUT" "KERNELS;ARGS" ${ARGN})
  if(NOT arg_NAME OR NOT arg_PLUGIN)
    message(FATAL_ERROR "gpt2_oracle_add_conformance_test: NAME and PLUGIN are required")
  endif()
  if(NOT TARGET ${arg_PLUGIN})
    message(FATAL_ERROR "gpt2_oracle_add_conformance_test: PLUGIN '${arg_PLUGIN}' is not a target")
  endif()
  if(NOT arg_MODEL)
    set(arg_MODEL tiny)
  endif()
  set(command $<TARGET_FILE:gpt2_oracle::gpt2-oracle> conformance
              --plugin $<TARGET_FILE:${arg_PLUGIN}> --model ${arg_MODEL})
  foreach(set ${arg_KERNELS})
    list(APPEND command --kernel ${set})
  endforeach()
  if(arg_TIMEOUT)
    list(APPEND command --plugin-timeout ${arg_TIMEOUT})
  endif()
  add_test(NAME ${arg_NAME} COMMAND ${command} ${arg_ARGS})
endfunction()
