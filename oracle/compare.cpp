#include "oracle/compare.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <cmath>
#include <cstdio>
#include <limits>

#include "model/error.h"
#include "oracle/flips.h"

namespace gpt2::oracle {

namespace {
constexpr double kInfinity = std::numeric_limits<double>::infinity();
}  // namespace

const char* verdict_name(Verdict verdict) {
  switch (verdict) {
    case Verdict::pass:
      return "pass";
    case Verdict::fail:
      return "FAIL";
    case Verdict::downstream:
      return "downstream";
    case Verdict::non_finite:
      return "NON-FINITE";
    case Verdict::absent:
      return "absent";
  }
  return "?";
}

std::string display_name(const TensorId& id) {
  if (!id.is_op()) return id.name();
  return "block." + std::to_string(id.layer) + " " + id.op_name();
}

double TraceComparison::worst_ratio() const {
  if (!failure.empty()) return std::numeric_limits<double>::infinity();
  double worst = 0;
  for (const TensorResult& r : tensors)
    if (r.verdict != Verdict::absent && r.verdict != Verdict::downstream)
      worst = std::max(worst, r.ratio);
  return worst;
}

std::string TraceComparison::summary() const {
  if (!failure.empty()) return "FAIL: " + failure;
  char text[512];
  if (passed()) {
    const TensorResult* worst = nullptr;
    for (const TensorResult& r : tensors)
      if (r.verdict != Verdict::absent && (worst == nullptr || r.ratio > worst->ratio)) worst = &r;
    std::snprintf(text, sizeof text, "pass (worst ratio %.3g at %s, position %d)",
                  worst ? worst->ratio : 0.0, worst ? display_name(worst->id).c_str() : "-",
                  worst ? worst->worst_position : 0);
    return text;
  }
  const TensorResult& f = tensors[first_finding];
  if (f.verdict == Verdict::non_finite) {
    std::snprintf(text, sizeof text,
                  "FAIL at %s, position %d: non-finite value where the truth is finite",
                  display_name(f.id).c_str(), f.first_failing_position);
    return text;
  }
  std::snprintf(text, sizeof text,
                "FAIL at %s, position %d: max error %.3g > budget %.3g (ratio %.3g)",
                display_name(f.id).c_str(), f.first_failing_position, f.metrics.max_abs_error,
                f.budget.limit(), f.ratio);
  return text;
}

std::optional<BitDifference> first_bit_difference(const Trace<double>& a, const Trace<double>& b) {
  GPT2_CHECK(a.n_tokens == b.n_tokens && a.n_embd == b.n_embd && a.vocab_size == b.vocab_size &&
                 a.n_layer() == b.n_layer() && a.level() == b.level(),
             "first_bit_difference: shapes differ");
  for (const TensorId& id : trace_tensor_ids(a.n_layer(), a.level())) {
    const std::vector<double>& x = tensor_of(a, id);
    const std::vector<double>& y = tensor_of(b, id);
    const size_t width = x.size() / std::max(1, a.n_tokens);
    for (size_t i = 0; i < x.size(); ++i)
      if (std::bit_cast<uint64_t>(x[i]) != std::bit_cast<uint64_t>(y[i]))
        return BitDifference{id, static_cast<int>(i / width), static_cast<int>(i % width), x[i],
                             y[i]};
  }
  return std::nullopt;
}

TraceComparison compare_traces(const Trace<double>& value, const Trace<double>& truth,
                               const std::vector<Budget>& budgets, Mask mask,
                               const std::vector<bool>& present, BudgetRule rule) {
  GPT2_CHECK(value.n_tokens == truth.n_tokens && value.n_embd == truth.n_embd &&
                 value.vocab_size == truth.vocab_size && value.n_layer() == truth.n_layer(),
             "compare_traces: shapes differ");
  const std::vector<TensorId> ids = trace_tensor_ids(truth.n_layer(), truth.level());
  GPT2_CHECK(budgets.size() == ids.size(), "compare_traces: one budget per tensor");
  GPT2_CHECK(present.empty() || present.size() == ids.size(), "compare_traces: present flags");

  std::vector<bool> available(ids.size());
  for (size_t i = 0; i < ids.size(); ++i)
    available[i] =
        (present.empty() || present[i]) && (!ids[i].is_op() || value.level() == TraceLevel::ops);
  // block l carries op tensors in the trace under test?
  auto block_has_ops = [&](size_t block_index) {
    for (size_t j = 0; j < block_index; ++j)
      if (ids[j].is_op() && ids[j].layer == ids[block_index].layer && available[j]) return true;
    return false;
  };
  // block l's op tensors have a precision profile's flip allowance
  // (oracle/flips.h): then the block is judged through its op graph, whose
  // absent tensors hand their flips on, not through the whole-block gain,
  // which knows nothing of them.
  auto block_has_flips = [&](size_t block_index) {
    for (size_t j = 0; j < block_index; ++j)
      if (ids[j].is_op() && ids[j].layer == ids[block_index].layer &&
          (budgets[j].flip_allowance > 0 || !budgets[j].flip_edges.empty()))
        return true;
    return false;
  };

  TraceComparison out;
  int finding_position = std::numeric_limits<int>::max();  // earliest position of a finding
  // What each tensor hands on to the tensors that read it (tolerance.h): its
  // excess over the baseline (rule excess_over_baseline) or its whole error
  // (chained_input_error).
  // Zeros. (Written without the explicit 0.0, which makes GCC 12 print a
  // false -Wfree-nonheap-object warning at the end of this function.)
  std::vector<double> handed_on(ids.size());
  // Each tensor's error as judged: its max error, its limit where the trace
  // lacks it or it is not finite.
  std::vector<double> judged_error(ids.size());
  // The error the trace has in a rounded tensor, over the values the rounding
  // reads (FlipEdge): the cache reads only qkv's key and value columns.
  auto rounded_error = [&](const FlipEdge& e) {
    const size_t k = static_cast<size_t>(e.tensor);
    if (!available[k] || !e.kv_columns) return judged_error[k];
    const std::vector<double>& v = tensor_of(value, ids[k]);
    const std::vector<double>& t = tensor_of(truth, ids[k]);
    const size_t width = t.size() / std::max(1, truth.n_tokens);
    const size_t first = width / 3;  // qkv: [q | k | v]
    double worst = 0;
    for (size_t row = 0; row < t.size(); row += width)
      for (size_t c = row + first; c < row + width; ++c) {
        const double d = std::abs(v[c] - t[c]);
        if (!std::isfinite(d)) return judged_error[k];
        worst = std::max(worst, d);
      }
    return worst;
  };
  for (size_t i = 0; i < ids.size(); ++i) {
    TensorResult r;
    r.id = ids[i];
    r.name = ids[i].name();
    r.layer = ids[i].layer;
    r.budget = budgets[i];
    const std::vector<BudgetInput>* edges = &r.budget.inputs;
    const std::vector<BudgetInput> block_edge = {r.budget.block_input};
    if (r.budget.block_input.tensor >= 0 &&
        (edges->empty() || (!block_has_ops(i) && !block_has_flips(i))))
      edges = &block_edge;
    double inherited = 0;
    for (const BudgetInput& e : *edges) {
      GPT2_CHECK(e.tensor >= 0 && static_cast<size_t>(e.tensor) < i,
                 "compare_traces: an input comes before its tensor");
      if (handed_on[e.tensor] > 0) inherited += e.gain * handed_on[e.tensor];
    }
    r.budget.inherited = inherited;
    // A profile's roundings of traced tensors (oracle/flips.h): at the error
    // this trace has in the rounded tensor where that exceeds the tensor's
    // own allowance, at which flip_allowance counted them.
    for (const FlipEdge& e : r.budget.flip_edges) {
      GPT2_CHECK(e.tensor >= 0 && static_cast<size_t>(e.tensor) < i,
                 "compare_traces: a rounded tensor comes before its consumer");
      const double own = own_allowance(budgets[static_cast<size_t>(e.tensor)]);
      const double noise = rounded_error(e);
      if (noise <= own) continue;
      const std::vector<double>& x = tensor_of(truth, ids[static_cast<size_t>(e.tensor)]);
      const int width = static_cast<int>(x.size() / std::max(1, truth.n_tokens));
      const double more = edge_flip_size(e, x, width, noise) - edge_flip_size(e, x, width, own);
      if (more > 0) r.budget.flip_allowance += e.gain * more;
    }
    const double limit = r.budget.limit();
    judged_error[i] = limit;
    if (!available[i]) {
      r.verdict = Verdict::absent;
      // An absent tensor hands on what its inputs' excess becomes through
      // it, and the flips a correct engine may have made in it (a profile's
      // allowance, oracle/flips.h; 0 under f32).
      handed_on[i] =
          rule == BudgetRule::chained_input_error ? limit : inherited + r.budget.flip_allowance;
      out.tensors.push_back(r);
      continue;
    }
    const std::vector<double>& v = tensor_of(value, ids[i]);
    const std::vector<double>& t = tensor_of(truth, ids[i]);
    const int width = static_cast<int>(t.size() / truth.n_tokens);
    r.columns = width;
    r.metrics = compare_tensors(v, t);
    r.worst_position = static_cast<int>(r.metrics.worst_index / width);
    if (ids[i].kind == TensorKind::logits) r.logits = compare_logits(v, t, truth.vocab_size);

    r.ratio = limit > 0 ? r.metrics.max_abs_error / limit
                        : (r.metrics.max_abs_error > 0 ? kInfinity : 0.0);
    bool beyond = false;
    if (r.non_finite()) {
      beyond = true;
      r.ratio = kInfinity;
      r.first_failing_position = static_cast<int>(r.metrics.first_non_finite / width);
    } else if (r.metrics.max_abs_error > limit) {
      beyond = true;
      for (int p = 0; p < truth.n_tokens && r.first_failing_position < 0; ++p)
        for (int c = 0; c < width; ++c) {
          const size_t k = static_cast<size_t>(p) * width + c;
          if (std::abs(v[k] - t[k]) > limit) {
            r.first_failing_position = p;
            break;
          }
        }
    }
    // After a finding every later tensor reads its error (forward order is a
    // topological order of the graph): under a causal mask only at the
    // finding's position and later ones.
    const bool after_finding = out.first_finding >= 0;
    if (beyond) {
      const bool explained =
          after_finding && (mask == Mask::none || r.first_failing_position >= finding_position);
      if (explained) {
        r.verdict = Verdict::downstream;
        r.downstream_of = out.tensors[out.first_finding].name;
      } else {
        r.verdict = r.non_finite() ? Verdict::non_finite : Verdict::fail;
        if (out.first_finding < 0) out.first_finding = static_cast<int>(i);
        finding_position = std::min(finding_position, r.first_failing_position);
      }
    } else if (after_finding) {
      r.verdict = Verdict::downstream;
      r.downstream_of = out.tensors[out.first_finding].name;
    }
    // A non-finite tensor is a finding; what it hands on is its whole limit.
    const double error =
        r.non_finite() || !std::isfinite(r.metrics.max_abs_error) ? limit : r.metrics.max_abs_error;
    judged_error[i] = error;
    handed_on[i] = rule == BudgetRule::chained_input_error
                       ? error
                       : std::max(0.0, error - r.budget.shared_error);
    out.tensors.push_back(r);
  }
  return out;
}

std::vector<double> max_errors(const Trace<double>& value, const Trace<double>& truth) {
  GPT2_CHECK(value.n_layer() == truth.n_layer() && value.n_tokens == truth.n_tokens,
             "max_errors: traces have different shapes");
  std::vector<double> out;
  for (const TensorId& id : trace_tensor_ids(truth.n_layer(), truth.level())) {
    if (id.is_op() && value.level() != TraceLevel::ops) {
      out.push_back(std::numeric_limits<double>::quiet_NaN());
      continue;
    }
    const TensorMetrics m = compare_tensors(tensor_of(value, id), tensor_of(truth, id));
    out.push_back(m.first_non_finite >= 0 ? kInfinity : m.max_abs_error);
  }
  return out;
}

std::vector<double> max_abs_per_tensor(const Trace<double>& trace) {
  std::vector<double> out;
  for (const TensorId& id : trace_tensor_ids(trace.n_layer(), trace.level())) {
    double m = 0;
    for (double v : tensor_of(trace, id)) m = std::max(m, std::abs(v));
    out.push_back(m);
  }
  return out;
}

}  // namespace gpt2::oracle
