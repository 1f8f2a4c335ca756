#include "reference/reference.h"

#include "model/error.h"
#include "model/tokens.h"
#include "reference/forward.h"

namespace gpt2::reference {

Precision parse_precision(const std::string& text) {
  if (text == "f32") return Precision::f32;
  if (text == "f64") return Precision::f64;
  if (text == "50") return Precision::digits50;
  if (text == "100") return Precision::digits100;
  throw InputError("--precision: expected f32, f64, 50 or 100, found '" + text + "'");
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

}  // namespace

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
  }
  GPT2_CHECK(false, "unknown Precision");
}

}  // namespace gpt2::reference
