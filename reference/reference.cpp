#include "reference/reference.h"

#include <type_traits>

#include "model/error.h"
#include "model/tokens.h"
#include "reference/forward.h"

namespace gpt2::reference {

Precision parse_precision(const std::string& text) {
  if (text == "f32") return Precision::f32;
  if (text == "f64") return Precision::f64;
  if (text == "50") return Precision::digits50;
  if (text == "100") return Precision::digits100;
  if (text == "dd") return Precision::dd;
  throw InputError("--precision: expected f32, f64, 50, 100 or dd, found '" + text + "'");
}

const char* precision_name(Precision precision) {
  switch (precision) {
    case Precision::f32:
      return "f32";
    case Precision::f64:
      return "f64";
    case Precision::digits50:
      return "50";
    case Precision::digits100:
      return "100";
    case Precision::dd:
      return "dd";
  }
  GPT2_CHECK(false, "unknown Precision");
}

namespace {

// Runs at Real on the weights as stored, rounds the trace to double.
template <class Real>
Trace<double> run_at(const Weights<float>& weights, const std::vector<int>& tokens,
                     const Options& options) {
  return convert_trace<double>(forward<Real>(weights, tokens, options));
}

template <class Real>
std::vector<Trace<double>> run_batch_at(const Weights<float>& weights,
                                        const std::vector<std::vector<int>>& rows, Padding padding,
                                        const Options& options) {
  // The weights stay as stored, as in run_at (reference/weight_product.h).
  std::vector<Trace<double>> out;
  for (const auto& t : forward_batch<Real>(weights, rows, padding, options))
    out.push_back(convert_trace<double>(t));
  return out;
}

}  // namespace

std::vector<Trace<double>> run_batch(const Weights<float>& weights,
                                     const std::vector<std::vector<int>>& rows, Padding padding,
                                     Precision precision, const Options& options) {
  validate_batch(rows, weights.config, "batch");  // before any weights are converted
  switch (precision) {
    case Precision::f32:
      return run_batch_at<float>(weights, rows, padding, options);
    case Precision::f64:
      return run_batch_at<double>(weights, rows, padding, options);
    case Precision::digits50:
      return run_batch_at<Real50>(weights, rows, padding, options);
    case Precision::digits100:
      return run_batch_at<Real100>(weights, rows, padding, options);
    case Precision::dd:
      return run_batch_at<DoubleDouble>(weights, rows, padding, options);
  }
  GPT2_CHECK(false, "unknown Precision");
}

Trace<double> run(const Weights<float>& weights, const std::vector<int>& tokens,
                  Precision precision, const Options& options) {
  validate_tokens(tokens, weights.config, "tokens");
  switch (precision) {
    case Precision::f32:
      return run_at<float>(weights, tokens, options);
    case Precision::f64:
      return run_at<double>(weights, tokens, options);
    case Precision::digits50:
      return run_at<Real50>(weights, tokens, options);
    case Precision::digits100:
      return run_at<Real100>(weights, tokens, options);
    case Precision::dd:
      return run_at<DoubleDouble>(weights, tokens, options);
  }
  GPT2_CHECK(false, "unknown Precision");
}

}  // namespace gpt2::reference
