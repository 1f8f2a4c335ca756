#include "oracle/compare.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "model/error.h"

namespace gpt2::oracle {

const char* verdict_name(Verdict verdict) {
  switch (verdict) {
    case Verdict::pass: return "pass";
    case Verdict::fail: return "FAIL";
    case Verdict::downstream: return "downstream";
    case Verdict::non_finite: return "NON-FINITE";
    case Verdict::absent: return "absent";
  }
  return "?";
}

std::vector<std::string> trace_tensor_names(int n_layer) {
  std::vector<std::string> names = {"embed"};
  for (int l = 0; l < n_layer; ++l) names.push_back("block." + std::to_string(l));
  names.push_back("ln_f");
  names.push_back("logits");
  return names;
}

namespace {

std::vector<const std::vector<double>*> tensors_of(const Trace<double>& t) {
  std::vector<const std::vector<double>*> out;
  for_each_trace_tensor(t, [&](const std::string&, const std::vector<double>& v, const Shape&) {
    out.push_back(&v);
  });
  return out;
}

}  // namespace

std::vector<double> max_errors(const Trace<double>& value, const Trace<double>& truth) {
  const auto v = tensors_of(value), t = tensors_of(truth);
  GPT2_CHECK(v.size() == t.size(), "max_errors: traces have different layer counts");
  std::vector<double> out;
  for (size_t i = 0; i < v.size(); ++i) {
    const TensorMetrics m = compare_tensors(*v[i], *t[i]);
    out.push_back(m.first_non_finite >= 0 ? std::numeric_limits<double>::infinity()
                                          : m.max_abs_error);
  }
  return out;
}

double TraceComparison::worst_ratio() const {
  double worst = 0;
  for (const TensorResult& r : tensors)
    if (r.verdict != Verdict::absent) worst = std::max(worst, r.ratio);
  return worst;
}

std::string TraceComparison::summary() const {
  char text[512];
  if (passed()) {
    const TensorResult* worst = nullptr;
    for (const TensorResult& r : tensors)
      if (r.verdict != Verdict::absent && (worst == nullptr || r.ratio > worst->ratio)) worst = &r;
    std::snprintf(text, sizeof text, "pass (worst ratio %.3g at %s, position %d)",
                  worst ? worst->ratio : 0.0, worst ? worst->name.c_str() : "-",
                  worst ? worst->worst_position : 0);
    return text;
  }
  const TensorResult& f = tensors[first_finding];
  if (f.verdict == Verdict::non_finite) {
    std::snprintf(text, sizeof text, "FAIL at %s, position %d: non-finite value where the truth "
                  "is finite", f.name.c_str(), f.first_failing_position);
    return text;
  }
  std::snprintf(text, sizeof text,
                "FAIL at %s, position %d: max error %.3g > budget %.3g (ratio %.3g)",
                f.name.c_str(), f.first_failing_position, f.metrics.max_abs_error,
                f.budget.limit(), f.ratio);
  return text;
}

TraceComparison compare_traces(const Trace<double>& value, const Trace<double>& truth,
                               const std::vector<Budget>& budgets, Mask mask,
                               const std::vector<bool>& present) {
  GPT2_CHECK(value.n_tokens == truth.n_tokens && value.n_embd == truth.n_embd &&
                 value.vocab_size == truth.vocab_size && value.n_layer() == truth.n_layer(),
             "compare_traces: shapes differ");
  const auto v = tensors_of(value), t = tensors_of(truth);
  const auto names = trace_tensor_names(truth.n_layer());
  GPT2_CHECK(budgets.size() == t.size(), "compare_traces: one budget per tensor");
  GPT2_CHECK(present.empty() || present.size() == t.size(), "compare_traces: present flags");

  TraceComparison out;
  int finding_position = std::numeric_limits<int>::max();  // earliest position of a finding
  double input_error = 0;  // the previous tensor's error (or budget, when absent)
  for (size_t i = 0; i < t.size(); ++i) {
    TensorResult r;
    r.name = names[i];
    r.layer = (i >= 1 && i + 2 < t.size()) ? static_cast<int>(i) - 1 : -1;
    r.budget = budgets[i];
    r.budget.inherited = i == 0 ? 0.0 : r.budget.gain * input_error;
    if (!present.empty() && !present[i]) {
      r.verdict = Verdict::absent;
      input_error = r.budget.limit();  // all that this tensor was allowed
      out.tensors.push_back(r);
      continue;
    }
    const int width = static_cast<int>(t[i]->size() / truth.n_tokens);
    r.metrics = compare_tensors(*v[i], *t[i]);
    r.worst_position = static_cast<int>(r.metrics.worst_index / width);
    if (r.name == "logits") r.logits = compare_logits(*v[i], *t[i], truth.vocab_size);

    const double limit = r.budget.limit();
    r.ratio = limit > 0 ? r.metrics.max_abs_error / limit
                        : (r.metrics.max_abs_error > 0 ? std::numeric_limits<double>::infinity()
                                                       : 0.0);
    bool beyond = false;
    if (r.metrics.first_non_finite >= 0) {
      beyond = true;
      r.ratio = std::numeric_limits<double>::infinity();
      r.first_failing_position = static_cast<int>(r.metrics.first_non_finite / width);
    } else if (r.metrics.max_abs_error > limit) {
      beyond = true;
      for (int p = 0; p < truth.n_tokens && r.first_failing_position < 0; ++p)
        for (int c = 0; c < width; ++c) {
          const size_t k = static_cast<size_t>(p) * width + c;
          if (std::abs((*v[i])[k] - (*t[i])[k]) > limit) {
            r.first_failing_position = p;
            break;
          }
        }
    }
    if (beyond) {
      // Explained by an earlier finding? Errors flow forward through the
      // tensors, and (under a causal mask) only to the same or later positions.
      const bool explained = out.first_finding >= 0 &&
                             (mask == Mask::none || r.first_failing_position >= finding_position);
      if (explained) {
        r.verdict = Verdict::downstream;
        r.downstream_of = out.tensors[out.first_finding].name;
      } else {
        r.verdict = r.metrics.first_non_finite >= 0 ? Verdict::non_finite : Verdict::fail;
        if (out.first_finding < 0) out.first_finding = static_cast<int>(i);
        finding_position = std::min(finding_position, r.first_failing_position);
      }
    }
    // What the next tensor inherits: this one's error, or all it was
    // allowed when the error is not finite (then this is a finding anyway).
    input_error = std::isfinite(r.metrics.max_abs_error) && r.metrics.first_non_finite < 0
                      ? r.metrics.max_abs_error
                      : limit;
    out.tensors.push_back(r);
  }
  return out;
}

}  // namespace gpt2::oracle
