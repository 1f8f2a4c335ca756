// Deliberately broken kernel sets: the `eigen` set with one step of the maths
// (through its hooks) or one operation replaced, carrying one bug that real
// engines have had; a few are `fast` (PanelKernels) with one change. The
// profile bugs ("profile NAME: ...") declare a precision profile
// (KernelSet::profile, model/profile.h) and break it, each with one rounding
// point wrong: only a judgement under the declared profile catches them for
// what they are (issue 16). Those whose profile rounds inside the arithmetic
// (all but bf16-weights: KernelSet::float32_arithmetic()) await the oracle's
// profile support; oracle/broken_kernels_test.cpp keeps their expected
// location apart until then.
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
