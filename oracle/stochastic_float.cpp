#include "oracle/stochastic_float.h"

namespace gpt2::oracle {

namespace {
std::mutex session_mutex;
}  // namespace

StochasticFloat::Session::Session(uint64_t seed) : lock_(session_mutex) {
  seed_.store(seed, std::memory_order_relaxed);
}

StochasticFloat::Session::~Session() { seed_.store(0, std::memory_order_relaxed); }

}  // namespace gpt2::oracle
