// Deliberately broken kernel sets: the `eigen` set with one step of the maths
// (through its hooks) or one operation replaced, carrying one bug that real
// engines have had.
// Registered only by test and calibration programs (never by the CLI), to
// show that the oracle catches each one and locates it.
#pragma once

#include <string>
#include <vector>

namespace gpt2::oracle {

struct BrokenKernelSet {
  std::string name;  // "broken-unscaled", ...
  std::string bug;   // one line: what it gets wrong
};

// Every broken set, in a fixed order.
const std::vector<BrokenKernelSet>& broken_kernel_sets();

// Registers every broken set with the engine's registry (once; idempotent).
void register_broken_kernel_sets();

}  // namespace gpt2::oracle
