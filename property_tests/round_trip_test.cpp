// Claim 10: round trips are bit-identical.
//   * export then load a checkpoint (save_checkpoint, load_checkpoint): the
//     same config and the same bits in every tensor;
//   * dump then read a trace (write_trace, read_trace): the reference's F64
//     trace exactly, and an engine trace (float32 values widened to double)
//     exactly through an F32 file as well.
//   * generate then read a fixture (second property): the case read back
//     has the config, tokens and mask it was generated for, its expected
//     trace is the 50-digit reference bit for bit, its embedded weights are
//     the weights bit for bit, case.json re-serialises to the same bytes,
//     and generating the same case again gives byte-identical files.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <iterator>
#include <cstring>
#include <filesystem>
#include <unistd.h>

#include "fixtures/case.h"
#include "fixtures/generate.h"
#include "model/checkpoint.h"
#include "model/tokens.h"
#include "optimized/engine.h"
#include "property_tests/checks.h"
#include "reference/reference.h"

namespace gpt2::properties {
namespace {

namespace fs = std::filesystem;

// A fresh directory under the system's temporary directory, removed with
// everything in it when the object goes.
class TemporaryDirectory {
 public:
  TemporaryDirectory() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() /
            ("gpt2-property-" + std::to_string(getpid()) + "-" + std::to_string(counter++));
    fs::create_directories(path_);
  }
  ~TemporaryDirectory() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// Empty when every tensor of a and b has the same bits; otherwise the first
// difference.
std::string weight_difference(const Weights<float>& a, const Weights<float>& b) {
  if (!(a.config == b.config)) return "the loaded config differs: " + describe(b.config);
  std::vector<std::pair<std::string, const std::vector<float>*>> ta;
  for_each_tensor(a, [&](const std::string& name, const std::vector<float>& t, const Shape&) {
    ta.emplace_back(name, &t);
  });
  std::string finding;
  size_t k = 0;
  for_each_tensor(b, [&](const std::string& name, const std::vector<float>& t, const Shape&) {
    if (!finding.empty()) return;
    const std::vector<float>& u = *ta[k++].second;
    if (u.size() != t.size()) {
      finding = name + ": " + std::to_string(t.size()) + " elements loaded, " +
                std::to_string(u.size()) + " saved";
      return;
    }
    for (size_t i = 0; i < t.size(); ++i)
      if (std::memcmp(&u[i], &t[i], sizeof(float)) != 0) {
        finding = name + " element " + std::to_string(i) + ": saved " + to_text(u[i]) +
                  ", loaded " + to_text(t[i]);
        return;
      }
  });
  return finding;
}

RC_GTEST_PROP(RoundTrip, ExportLoadAndDumpReadAreBitIdentical, ()) {
  const ModelCase m = *gen_model_case();
  const Weights<float> weights = m.weights();
  TemporaryDirectory dir;

  const fs::path checkpoint = dir.path() / "checkpoint";
  save_checkpoint(weights, checkpoint.string());
  std::string finding = weight_difference(weights, load_checkpoint(checkpoint.string()));
  if (!finding.empty()) RC_FAIL(failure(m, "checkpoint export then load: " + finding));

  reference::Options options;
  options.threads = kThreads;
  const Trace<double> f64 = reference::run(weights, m.tokens, reference::Precision::f64, options);
  const fs::path f64_file = dir.path() / "reference.safetensors";
  write_trace(f64_file.string(), f64, TraceDtype::F64, {{"impl", "reference"}});
  finding =
      bit_difference("reference trace", f64, "read back from F64", read_trace(f64_file.string()));
  if (!finding.empty()) RC_FAIL(failure(m, "trace dump then read: " + finding));

  const Trace<double> engine =
      optimized::run_trace(weights, m.tokens, "eigen", Mode::full, 0, Mask::causal, kThreads);
  const fs::path f32_file = dir.path() / "engine.safetensors";
  write_trace(f32_file.string(), engine, TraceDtype::F32);
  finding =
      bit_difference("engine trace", engine, "read back from F32", read_trace(f32_file.string()));
  if (!finding.empty()) RC_FAIL(failure(m, "trace dump then read: " + finding));
}

std::string file_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Empty when both directories hold the same file names with the same bytes.
std::string directory_difference(const fs::path& a, const fs::path& b) {
  std::vector<std::string> names_a, names_b;
  for (const auto& e : fs::directory_iterator(a)) names_a.push_back(e.path().filename().string());
  for (const auto& e : fs::directory_iterator(b)) names_b.push_back(e.path().filename().string());
  std::sort(names_a.begin(), names_a.end());
  std::sort(names_b.begin(), names_b.end());
  if (names_a != names_b) return "the two cases hold different files";
  for (const auto& name : names_a)
    if (file_bytes(a / name) != file_bytes(b / name))
      return name + " differs between the two cases";
  return "";
}

RC_GTEST_PROP(RoundTrip, FixtureGenerateThenReadIsBitIdentical, ()) {
  const ModelCase m = *gen_model_case();
  const Mask mask = *rc::gen::element(Mask::causal, Mask::none);
  const Weights<float> weights = m.weights();
  TemporaryDirectory dir;
  const fs::path checkpoint = dir.path() / "checkpoint";
  save_checkpoint(weights, checkpoint.string());

  fixtures::GenerateOptions options;
  options.checkpoint_dir = checkpoint.string();
  options.tokens = m.tokens;
  options.mask = mask;
  options.threads = kThreads;
  const std::string what = std::string("fixture (mask ") + mask_name(mask) + ")";
  const fs::path first = dir.path() / "case", second = dir.path() / "again";
  const fixtures::GenerateResult generated =
      fixtures::generate_case(weights, options, first.string());
  if (!generated.certified)
    RC_FAIL(failure(m, what + ": the 50- and 100-digit references agree to only " +
                           std::to_string(generated.min_certified_digits) +
                           " digits (the numerics policy asks at least " +
                           std::to_string(fixtures::kMinCertifiedDigits) + ")"));

  const fixtures::Case c = fixtures::read_case(first.string());
  if (!(c.config == m.config) || c.tokens != m.tokens || c.mask != mask)
    RC_FAIL(failure(m, what + ": case.json read back with config " + describe(c.config) +
                           ", tokens [" + format_tokens(c.tokens) + "], mask " +
                           mask_name(c.mask)));
  reference::Options ro;
  ro.mask = mask;
  ro.threads = kThreads;
  std::string finding =
      bit_difference("expected.safetensors", fixtures::read_expected(c), "the 50-digit reference",
                     reference::run(weights, m.tokens, reference::Precision::digits50, ro));
  if (!finding.empty()) RC_FAIL(failure(m, what + ": " + finding));
  finding = weight_difference(weights, fixtures::load_case_weights(c));
  if (!finding.empty()) RC_FAIL(failure(m, what + ", embedded weights: " + finding));
  if (fixtures::case_to_json(c) != file_bytes(first / fixtures::kCaseFile))
    RC_FAIL(failure(m, what + ": case.json read back does not re-serialise to the same bytes"));

  fixtures::generate_case(weights, options, second.string());
  finding = directory_difference(first, second);
  if (!finding.empty()) RC_FAIL(failure(m, what + ", generated twice: " + finding));
}

}  // namespace
}  // namespace gpt2::properties
