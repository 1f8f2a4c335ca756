#include "model/checkpoint.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>

#include "model/error.h"
#include "model/files.h"
#include "model/safetensors.h"

namespace gpt2 {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// A fresh empty directory under the system temp dir, removed afterwards.
class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("gpt2_checkpoint_test_" + std::to_string(::getpid()) +
                                         "_" + std::to_string(counter_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), bytes.size());
}

// --- A safetensors file assembled by hand from the specification ----------
// (8-byte little-endian header length, JSON header, raw little-endian data),
// without our writer, so that reader and writer cannot share a mistake.
struct HandTensor {
  std::string name;
  std::string dtype;  // "F32", "F16", "BF16"
  std::vector<int64_t> shape;
  std::string bytes;
};

std::string le_f32(const std::vector<float>& values) {
  std::string s(values.size() * 4, '\0');
  for (size_t i = 0; i < values.size(); ++i) {
    uint32_t bits;
    std::memcpy(&bits, &values[i], 4);
    for (int b = 0; b < 4; ++b) s[4 * i + b] = static_cast<char>((bits >> (8 * b)) & 0xff);
  }
  return s;
}

std::string le_u16(const std::vector<uint16_t>& values) {
  std::string s(values.size() * 2, '\0');
  for (size_t i = 0; i < values.size(); ++i) {
    s[2 * i] = static_cast<char>(values[i] & 0xff);
    s[2 * i + 1] = static_cast<char>(values[i] >> 8);
  }
  return s;
}

std::string hand_safetensors(const std::vector<HandTensor>& tensors) {
  std::string header = "{\"__metadata__\":{\"format\":\"pt\"}";
  std::string data;
  for (const HandTensor& t : tensors) {
    header += ",\"" + t.name + "\":{\"dtype\":\"" + t.dtype + "\",\"shape\":[";
    for (size_t i = 0; i < t.shape.size(); ++i)
      header += (i ? "," : "") + std::to_string(t.shape[i]);
    header += "],\"data_offsets\":[" + std::to_string(data.size()) + "," +
              std::to_string(data.size() + t.bytes.size()) + "]}";
    data += t.bytes;
  }
  header += "}";
  std::string file(8, '\0');
  for (int b = 0; b < 8; ++b)
    file[b] = static_cast<char>((uint64_t{header.size()} >> (8 * b)) & 0xff);
  return file + header + data;
}

// The smallest GPT-2: L = 1, NH = 1, C = 2, V = 3, P = 2.
const char* kMicroConfig = R"({"n_layer":1,"n_head":1,"n_embd":2,"n_positions":2,"vocab_size":3,)"
                           R"("layer_norm_epsilon":1e-05,"activation_function":"gelu_new"})";

// Every tensor of the micro model; element k of tensor number t is
// (t + 1) + k / 8, exactly representable in F32, F16 and BF16.
std::vector<HandTensor> micro_tensors(const std::string& prefix, const std::string& dtype) {
  const std::vector<std::pair<std::string, std::vector<int64_t>>> shapes = {
      {"wte.weight", {3, 2}},
      {"wpe.weight", {2, 2}},
      {"h.0.ln_1.weight", {2}},
      {"h.0.ln_1.bias", {2}},
      {"h.0.attn.c_attn.weight", {2, 6}},
      {"h.0.attn.c_attn.bias", {6}},
      {"h.0.attn.c_proj.weight", {2, 2}},
      {"h.0.attn.c_proj.bias", {2}},
      {"h.0.ln_2.weight", {2}},
      {"h.0.ln_2.bias", {2}},
      {"h.0.mlp.c_fc.weight", {2, 8}},
      {"h.0.mlp.c_fc.bias", {8}},
      {"h.0.mlp.c_proj.weight", {8, 2}},
      {"h.0.mlp.c_proj.bias", {2}},
      {"ln_f.weight", {2}},
      {"ln_f.bias", {2}},
  };
  std::vector<HandTensor> out;
  for (size_t t = 0; t < shapes.size(); ++t) {
    int64_t n = 1;
    for (int64_t d : shapes[t].second) n *= d;
    std::vector<float> values(n);
    for (int64_t k = 0; k < n; ++k) values[k] = float(t + 1) + float(k) / 8.0f;
    std::string bytes;
    if (dtype == "F32") {
      bytes = le_f32(values);
    } else {
      std::vector<uint16_t> halves(n);
      for (int64_t k = 0; k < n; ++k) {
        uint32_t bits;
        std::memcpy(&bits, &values[k], 4);
        if (dtype == "BF16") {
          halves[k] = static_cast<uint16_t>(bits >> 16);  // exact: low bits are zero
        } else {  // F16: sign 0, exponent e-127+15, top 10 mantissa bits
          const uint32_t exponent = ((bits >> 23) & 0xff) - 127 + 15;
          halves[k] = static_cast<uint16_t>((exponent << 10) | ((bits >> 13) & 0x3ff));
        }
      }
      bytes = le_u16(halves);
    }
    out.push_back({prefix + shapes[t].first, dtype, shapes[t].second, bytes});
  }
  return out;
}

std::string make_checkpoint(const TempDir& tmp, const std::string& name,
                            const std::vector<HandTensor>& tensors,
                            const std::string& config = kMicroConfig) {
  const std::string dir = tmp / name;
  fs::create_directories(dir);
  write_bytes(dir + "/config.json", config);
  write_bytes(dir + "/model.safetensors", hand_safetensors(tensors));
  return dir;
}

std::string load_error(const std::string& dir) {
  try {
    load_checkpoint(dir);
  } catch (const InputError& e) {
    return e.what();
  }
  return "(no error)";
}

void expect_micro_values(const Weights<float>& w) {
  EXPECT_EQ(w.config.n_embd, 2);
  EXPECT_EQ(w.wte, (std::vector<float>{1, 1.125f, 1.25f, 1.375f, 1.5f, 1.625f}));
  EXPECT_EQ(w.blocks[0].attn_c_attn_weight[7], 5 + 7 / 8.0f);
  EXPECT_EQ(w.ln_f_bias, (std::vector<float>{16, 16.125f}));
}

TEST(Checkpoint, LoadsAHandBuiltFileInEveryDtype) {
  TempDir tmp;
  for (const char* dtype : {"F32", "F16", "BF16"}) {
    SCOPED_TRACE(dtype);
    expect_micro_values(load_checkpoint(make_checkpoint(tmp, dtype, micro_tensors("", dtype))));
  }
}

TEST(Checkpoint, AcceptsTransformerPrefixBuffersAndTiedLmHead) {
  TempDir tmp;
  auto tensors = micro_tensors("transformer.", "F32");
  tensors.push_back({"transformer.h.0.attn.bias", "F32", {1, 1, 2, 2}, le_f32({1, 0, 1, 1})});
  tensors.push_back({"transformer.h.0.attn.masked_bias", "F32", {}, le_f32({-1e4f})});
  tensors.push_back({"lm_head.weight", "F32", {3, 2}, tensors[0].bytes});
  expect_micro_values(load_checkpoint(make_checkpoint(tmp, "prefixed", tensors)));
}

TEST(Checkpoint, RejectsAnUntiedLmHead) {
  TempDir tmp;
  auto tensors = micro_tensors("", "F32");
  tensors.push_back({"lm_head.weight", "F32", {3, 2}, le_f32({0, 0, 0, 0, 0, 0})});
  EXPECT_THAT(load_error(make_checkpoint(tmp, "untied", tensors)),
              HasSubstr("'lm_head.weight' differs from wte.weight"));
}

TEST(Checkpoint, RejectsMixedPrefixes) {
  TempDir tmp;
  auto tensors = micro_tensors("", "F32");
  tensors[3].name = "transformer." + tensors[3].name;
  EXPECT_THAT(load_error(make_checkpoint(tmp, "mixed", tensors)),
              HasSubstr("mix the \"transformer.\" prefix"));
}

TEST(Checkpoint, NamesAMissingTensor) {
  TempDir tmp;
  auto tensors = micro_tensors("", "F32");
  tensors.erase(tensors.begin() + 4);  // h.0.attn.c_attn.weight
  const std::string dir = make_checkpoint(tmp, "missing", tensors);
  EXPECT_EQ(load_error(dir), dir + "/model.safetensors: missing tensor 'h.0.attn.c_attn.weight'");
}

TEST(Checkpoint, NamesAnUnexpectedTensor) {
  TempDir tmp;
  auto tensors = micro_tensors("", "F32");
  tensors.push_back({"h.1.ln_1.weight", "F32", {2}, le_f32({1, 1})});
  EXPECT_THAT(load_error(make_checkpoint(tmp, "unexpected", tensors)),
              HasSubstr("unexpected tensor 'h.1.ln_1.weight'"));
}

TEST(Checkpoint, NamesAWrongShape) {
  TempDir tmp;
  auto tensors = micro_tensors("", "F32");
  tensors[4].shape = {6, 2};  // c_attn stored as torch.nn.Linear [3C, C], not Conv1D [C, 3C]
  EXPECT_THAT(load_error(make_checkpoint(tmp, "shape", tensors)),
              HasSubstr("tensor 'h.0.attn.c_attn.weight' has shape [6, 2], expected [2, 6]"));
}

TEST(Checkpoint, NamesNanAndInfWeights) {
  TempDir tmp;
  for (float bad :
       {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity()}) {
    auto tensors = micro_tensors("", "F32");
    tensors[9].bytes = le_f32({1, bad});  // h.0.ln_2.bias
    EXPECT_THAT(load_error(make_checkpoint(tmp, std::isnan(bad) ? "nan" : "inf", tensors)),
                HasSubstr("tensor 'h.0.ln_2.bias' has a non-finite value"));
  }
}

TEST(Checkpoint, NamesABadConfigAndAMissingDirectory) {
  TempDir tmp;
  const std::string dir =
      make_checkpoint(tmp, "config", micro_tensors("", "F32"), R"({"n_layer":1})");
  EXPECT_THAT(load_error(dir), HasSubstr("config.json: missing key \"n_head\""));
  EXPECT_THAT(load_error(tmp / "nowhere"), HasSubstr("not a checkpoint directory"));
  // A config whose sizes disagree with the tensors.
  std::string wider = kMicroConfig;
  wider.replace(wider.find("\"vocab_size\":3"), 14, "\"vocab_size\":4");
  EXPECT_THAT(load_error(make_checkpoint(tmp, "wider", micro_tensors("", "F32"), wider)),
              HasSubstr("tensor 'wte.weight' has shape [3, 2], expected [4, 2]"));
}

// config.json claims more than the file can hold: refused from the file's
// size before any tensor is read or any block allocated (n_layer 10^7 used to
// cost 2.8 GB first; 10^8 ended in "out of memory" naming no file).
TEST(Checkpoint, AConfigTooLargeForTheWeightsFileIsRefusedBeforeAllocating) {
  TempDir tmp;
  for (const char* layers : {"10000000", "100000000"}) {
    std::string config = kMicroConfig;
    config.replace(config.find("\"n_layer\":1"), 11, std::string("\"n_layer\":") + layers);
    const std::string dir =
        make_checkpoint(tmp, std::string("layers") + layers, micro_tensors("", "F32"), config);
    const std::string error = load_error(dir);
    EXPECT_THAT(error, HasSubstr(dir + "/model.safetensors: "));
    EXPECT_THAT(error, HasSubstr("bytes cannot hold the"));
    EXPECT_THAT(error, HasSubstr(std::string("(n_layer ") + layers));
  }
}

// A config that fits the file's bytes but not its tensors: blocks are
// allocated for the tensors present only, and the first missing one named.
TEST(Checkpoint, MoreLayersThanTheFileHoldsNamesTheFirstMissingTensor) {
  TempDir tmp;
  std::string config = kMicroConfig;
  config.replace(config.find("\"n_layer\":1"), 11, "\"n_layer\":2");
  auto tensors = micro_tensors("", "F32");
  tensors.push_back({"padding", "F32", {64}, le_f32(std::vector<float>(64, 0.0f))});
  EXPECT_THAT(load_error(make_checkpoint(tmp, "two", tensors, config)),
              HasSubstr("missing tensor 'h.1.ln_1.weight'"));
}

TEST(Checkpoint, AWeightsFileThatIsNotARegularFileIsRefused) {
  TempDir tmp;
  const std::string dir = make_checkpoint(tmp, "zero", micro_tensors("", "F32"));
  fs::remove(dir + "/model.safetensors");
  fs::create_symlink("/dev/zero", dir + "/model.safetensors");
  EXPECT_THAT(load_error(dir), HasSubstr("model.safetensors: is a character device, not a "
                                         "regular file"));
}

TEST(Checkpoint, ASymlinkLoopIsBadInputNotAFilesystemError) {
  TempDir tmp;
  fs::create_symlink(tmp / "loop", tmp / "loop");
  EXPECT_THAT(load_error(tmp / "loop"), HasSubstr("too many levels of symbolic links"));
}

TEST(Checkpoint, PresetExportLoadRoundTripIsBitIdentical) {
  TempDir tmp;
  for (const char* name : {"tiny", "small"}) {
    const Weights<float> original = preset_weights(name);
    const std::string dir = tmp / name;
    save_checkpoint(original, dir);
    const Weights<float> loaded = load_checkpoint(dir);
    EXPECT_EQ(loaded.config, original.config);
    std::vector<const std::vector<float>*> a, b;
    for_each_tensor(original, [&](const std::string&, const std::vector<float>& t, const Shape&) {
      a.push_back(&t);
    });
    for_each_tensor(loaded, [&](const std::string&, const std::vector<float>& t, const Shape&) {
      b.push_back(&t);
    });
    ASSERT_EQ(a.size(), b.size());
    for (size_t i = 0; i < a.size(); ++i)
      EXPECT_EQ(std::memcmp(a[i]->data(), b[i]->data(), a[i]->size() * 4), 0) << i;
  }
}

TEST(Checkpoint, ExportIsByteReproducibleAndRefusesToOverwrite) {
  TempDir tmp;
  const Weights<float> w = preset_weights("tiny");
  save_checkpoint(w, tmp / "a");
  save_checkpoint(w, tmp / "b");
  EXPECT_EQ(read_file(tmp / "a/model.safetensors"), read_file(tmp / "b/model.safetensors"));
  EXPECT_EQ(read_file(tmp / "a/config.json"), read_file(tmp / "b/config.json"));
  EXPECT_THROW(save_checkpoint(w, tmp / "a"), InputError);
  // Nothing but the two checkpoints is left behind (no temporary directory).
  int entries = 0;
  for (const auto& e : fs::directory_iterator(tmp / "")) entries += e.is_directory();
  EXPECT_EQ(entries, 2);
}

// The shape presets have GPT-2's own sizes (parameter counts as Hugging Face
// reports them, lm_head tied), checked without generating their weights.
TEST(Checkpoint, ShapePresetsHaveGpt2sParameterCounts) {
  const std::pair<const char*, int64_t> sizes[] = {{"gpt2-124m-shape", 124439808},
                                                   {"gpt2-medium-shape", 354823168},
                                                   {"gpt2-large-shape", 774030080},
                                                   {"gpt2-xl-shape", 1557611200}};
  for (const auto& [name, parameters] : sizes) {
    const Config& c = find_preset(name).config;
    EXPECT_EQ(c.parameter_count(), parameters) << name;
    EXPECT_EQ(c.vocab_size, 50257) << name;
    EXPECT_EQ(c.n_ctx, 1024) << name;
    EXPECT_EQ(c.n_embd % c.n_head, 0) << name;
  }
  EXPECT_EQ(find_preset("gpt2-xl-shape").config.n_layer, 48);
  EXPECT_EQ(find_preset("gpt2-xl-shape").config.n_head, 25);
  EXPECT_EQ(find_preset("gpt2-xl-shape").config.n_embd, 1600);
}

// The tiny preset's exported weights, pinned: the generator must give the
// same bits on every platform and compiler. A change here changes every
// shipped fixture; it must be deliberate.
const char* kTinyDigest = "558d4e61d4f4e55189453d661bcc68b2f9af058fccfe512012638c3b4c45d958";

TEST(Checkpoint, TinyPresetDigestIsPinned) {
  TempDir tmp;
  save_checkpoint(preset_weights("tiny"), tmp / "tiny");
  EXPECT_EQ(sha256_file(tmp / "tiny/model.safetensors"), kTinyDigest);
}

}  // namespace
}  // namespace gpt2
