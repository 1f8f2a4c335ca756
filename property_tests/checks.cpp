#include "property_tests/checks.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "model/error.h"
#include "oracle/compare.h"

namespace gpt2::properties {

// ---- settings of the run -------------------------------------------------------

namespace {
std::string& params_storage() {
  static std::string params;
  return params;
}
}  // namespace

const std::string& rc_params_in_effect() { return params_storage(); }
void set_rc_params_in_effect(const std::string& params) { params_storage() = params; }

std::string rerun_hint() {
  std::string test = "?";
  if (const auto* info = ::testing::UnitTest::GetInstance()->current_test_info())
    test = std::string(info->test_suite_name()) + "." + info->name();
  return "rerun: RC_PARAMS=\"" + rc_params_in_effect() +
         "\" property_tests --gtest_filter=" + test +
         "  (RapidCheck prints the exact reproduce= line at exit)";
}

std::string failure(const ModelCase& model_case, const std::string& finding) {
  return "model: " + describe(model_case) + "\n" + finding + "\n" + rerun_hint();
}

// ---- kernel sets and budgets ---------------------------------------------------

std::vector<const optimized::KernelSet*> kernel_sets() { return optimized::float32_kernel_sets(); }

namespace {
bool same_bits(const Weights<float>& a, const Weights<float>& b) {
  std::vector<const std::vector<float>*> ta;
  for_each_tensor(
      a, [&](const std::string&, const std::vector<float>& t, const Shape&) { ta.push_back(&t); });
  size_t i = 0;
  bool same = a.config == b.config;
  for_each_tensor(b, [&](const std::string&, const std::vector<float>& t, const Shape&) {
    if (!same || i >= ta.size()) return void(same = false);
    const auto& u = *ta[i++];
    same = u.size() == t.size() && std::memcmp(u.data(), t.data(), t.size() * sizeof(float)) == 0;
  });
  return same && i == ta.size();
}
}  // namespace

Truths::Truths(const Weights<float>& weights, std::vector<int> tokens, Mask mask, uint64_t seed)
    : weights_(weights), tokens_(std::move(tokens)), mask_(mask), seed_(seed) {}

const oracle::Reference& Truths::of(const optimized::KernelSet& set) {
  return of_weights(set.weights_used(weights_));
}

const oracle::Reference& Truths::of_given() { return of_weights(weights_); }

const oracle::Reference& Truths::of_weights(Weights<float> used) {
  for (const auto& [w, reference] : computed_)
    if (same_bits(w, used)) return reference;
  oracle::Reference reference = oracle::compute_reference(used, tokens_, mask_, seed_, kThreads);
  computed_.emplace_back(std::move(used), std::move(reference));
  return computed_.back().second;
}

std::string budget_finding(const std::string& what, const Trace<double>& value,
                           const oracle::Reference& reference, Mask mask) {
  const oracle::TraceComparison c =
      oracle::compare_traces(value, reference.truth, reference.budgets, mask);
  if (c.passed()) return "";
  const oracle::TensorResult& f = c.tensors[c.first_finding];
  const std::vector<double>& v = tensor_of(value, f.id);
  const std::vector<double>& t = tensor_of(reference.truth, f.id);
  const int width = f.columns;
  const int position = std::max(0, f.first_failing_position);
  // The worst channel of the first failing position.
  int channel = 0;
  double worst = -1;
  for (int k = 0; k < width; ++k) {
    const size_t i = static_cast<size_t>(position) * width + k;
    const double e = std::isfinite(v[i]) ? std::abs(v[i] - t[i]) : INFINITY;
    if (e > worst) worst = e, channel = k;
  }
  const size_t i = static_cast<size_t>(position) * width + channel;
  std::ostringstream s;
  s << what << ": beyond the oracle's budget at tensor " << f.name << " (layer " << f.layer
    << "), position " << position << ", channel " << channel << ": value " << to_text(v[i])
    << ", truth " << to_text(t[i]) << "; max error " << to_text(f.metrics.max_abs_error)
    << " > budget " << to_text(f.budget.limit()) << " (ratio " << f.ratio << ")\n  " << c.summary();
  return s.str();
}

double budget_limit(const oracle::Reference& reference, const std::string& tensor) {
  const auto ids = trace_tensor_ids(reference.truth.n_layer(), reference.truth.level());
  for (size_t i = 0; i < ids.size(); ++i)
    if (ids[i].name() == tensor) return reference.budgets.at(i).limit();
  GPT2_CHECK(false, "budget_limit: no tensor " + tensor);
}

// ---- traces ------------------------------------------------------------------

Trace50 reference50(const Weights<float>& weights, const std::vector<int>& tokens, Mask mask,
                    Mode mode) {
  reference::Options options;
  options.mask = mask;
  options.mode = mode;
  options.threads = kThreads;
  return reference::forward<Real50>(weights, tokens, options);
}

template <class T>
Trace<T> rows_of(const Trace<T>& trace, int first, int count) {
  return trace_rows(trace, first, count);
}

template <class T>
std::vector<NamedTensor<T>> named_tensors(const Trace<T>& trace) {
  std::vector<NamedTensor<T>> out;
  for_each_trace_tensor(trace,
                        [&](const std::string& name, const std::vector<T>& x, const Shape& shape) {
                          const auto id = parse_tensor_name(name, trace.n_layer());
                          out.push_back({name, id->layer, &x, static_cast<int>(shape[1])});
                        });
  return out;
}

namespace {
bool bits_equal(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }
bool bits_equal(const Real50& a, const Real50& b) {
  // MPFR numbers at the same precision: equal values (and both NaN) have the
  // same representation; -0 and +0 are told apart by the sign.
  if (boost::multiprecision::isnan(a) || boost::multiprecision::isnan(b))
    return boost::multiprecision::isnan(a) && boost::multiprecision::isnan(b);
  return a == b && boost::multiprecision::signbit(a) == boost::multiprecision::signbit(b);
}

template <class T>
std::string where(const NamedTensor<T>& t, size_t index) {
  std::ostringstream s;
  s << "tensor " << t.name << " (layer " << t.layer << "), position " << index / t.width
    << ", channel " << index % t.width;
  return s.str();
}
}  // namespace

template <class T>
std::string bit_difference(const std::string& a_name, const Trace<T>& a, const std::string& b_name,
                           const Trace<T>& b) {
  if (a.n_tokens != b.n_tokens || a.n_embd != b.n_embd || a.vocab_size != b.vocab_size ||
      a.n_layer() != b.n_layer())
    return a_name + " and " + b_name + " have different shapes";
  const auto ta = named_tensors(a), tb = named_tensors(b);
  for (size_t k = 0; k < ta.size(); ++k) {
    const auto &x = *ta[k].values, &y = *tb[k].values;
    for (size_t i = 0; i < x.size(); ++i)
      if (!bits_equal(x[i], y[i]))
        return a_name + " and " + b_name + " are not bit-identical at " + where(ta[k], i) + ": " +
               a_name + " " + to_text(x[i]) + ", " + b_name + " " + to_text(y[i]);
  }
  return "";
}

std::string digits_difference(const std::string& a_name, const Trace50& a,
                              const std::string& b_name, const Trace50& b, double digits) {
  const auto ta = named_tensors(a), tb = named_tensors(b);
  for (size_t k = 0; k < ta.size(); ++k) {
    const auto &x = *ta[k].values, &y = *tb[k].values;
    Real50 scale = 0;
    for (const Real50& v : x) scale = std::max(scale, Real50(abs(v)));
    size_t worst_index = 0;
    Real50 worst = -1;
    for (size_t i = 0; i < x.size(); ++i) {
      const Real50 e = abs(Real50(x[i] - y[i]));
      if (e > worst) worst = e, worst_index = i;
    }
    if (worst <= 0) continue;
    const double agreeing = scale > 0 ? -static_cast<double>(log10(Real50(worst / scale))) : 0.0;
    if (!(agreeing >= digits)) {
      std::ostringstream s;
      s << a_name << " and " << b_name << " agree to only " << agreeing
        << " significant digits (relative to max |x| = " << to_text(scale) << "; claim: " << digits
        << ") at " << where(ta[k], worst_index) << ": " << a_name << " " << to_text(x[worst_index])
        << ", " << b_name << " " << to_text(y[worst_index]);
      return s.str();
    }
  }
  return "";
}

template <class T>
double row_difference_to_scale(const std::vector<T>& a, const std::vector<T>& b, int width,
                               int position) {
  using std::abs;
  double scale = 0, worst = 0;
  for (const T& v : a) scale = std::max(scale, static_cast<double>(abs(v)));
  for (int c = 0; c < width; ++c) {
    const size_t i = static_cast<size_t>(position) * width + c;
    worst = std::max(worst, static_cast<double>(abs(T(a[i] - b[i]))));
  }
  return scale > 0 ? worst / scale : worst;
}

std::string to_text(double x) {
  char text[40];
  std::snprintf(text, sizeof text, "%.17g", x);
  return text;
}

std::string to_text(const Real50& x) { return x.str(50, std::ios_base::scientific); }

// The scalars the properties use.
template Trace<double> rows_of(const Trace<double>&, int, int);
template Trace50 rows_of(const Trace50&, int, int);
template std::vector<NamedTensor<double>> named_tensors(const Trace<double>&);
template std::vector<NamedTensor<Real50>> named_tensors(const Trace50&);
template std::string bit_difference(const std::string&, const Trace<double>&, const std::string&,
                                    const Trace<double>&);
template std::string bit_difference(const std::string&, const Trace50&, const std::string&,
                                    const Trace50&);
template double row_difference_to_scale(const std::vector<double>&, const std::vector<double>&, int,
                                        int);
template double row_difference_to_scale(const std::vector<Real50>&, const std::vector<Real50>&, int,
                                        int);

}  // namespace gpt2::properties
