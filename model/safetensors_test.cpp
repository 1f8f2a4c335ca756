#include "model/safetensors.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include "model/error.h"

namespace gpt2 {
namespace {

// ---------------------------------------------------------------------------
// Files built byte by byte from the specification, not with our writer:
// 8 bytes little-endian u64 N, N bytes of JSON header, then the data buffer.

std::string le64(uint64_t n) {
  std::string out;
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
  return out;
}

std::string file_bytes(const std::string& header, const std::string& data) {
  return le64(header.size()) + header + data;
}

// One F32 tensor "t" of shape [1] holding 1.0f, as a data buffer.
const std::string kOneF32("\x00\x00\x80\x3f", 4);

// Values bit for bit: IEEE 754 bit patterns written out in little-endian.
const std::string kHandBuiltHeader =
    R"({"__metadata__":{"format":"pt","note":"hand-built"},)"
    R"("a_f32":{"dtype":"F32","shape":[2],"data_offsets":[8,16]},)"
    R"("b_f16":{"dtype":"F16","shape":[2,2],"data_offsets":[16,24]},)"
    R"("c_bf16":{"dtype":"BF16","shape":[2],"data_offsets":[24,28]},)"
    R"("d_f64":{"dtype":"F64","shape":[],"data_offsets":[0,8]},)"
    R"("e_empty":{"dtype":"F32","shape":[0,3],"data_offsets":[28,28]}})";
const std::string kHandBuiltData(
    // d_f64 [] = pi = 0x400921FB54442D18
    "\x18\x2d\x44\x54\xfb\x21\x09\x40"
    // a_f32 [2] = 1.5f (0x3FC00000), -2.0f (0xC0000000)
    "\x00\x00\xc0\x3f"
    "\x00\x00\x00\xc0"
    // b_f16 [2, 2] = 1.0 (0x3C00), 2^-24 (0x0001, smallest subnormal),
    //                -inf (0xFC00), 65504 (0x7BFF, largest finite)
    "\x00\x3c\x01\x00\x00\xfc\xff\x7b"
    // c_bf16 [2] = 3.140625 (0x4049), -0.0 (0x8000)
    "\x49\x40\x00\x80",
    28);

// Parses `bytes` and expects an InputError whose single-line message names
// the source and contains `problem`.
void expect_rejected(const std::string& bytes, const std::string& problem) {
  try {
    SafetensorsFile::parse(bytes, "bad.safetensors");
    ADD_FAILURE() << "accepted a bad file; expected an error containing: " << problem;
  } catch (const InputError& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.rfind("bad.safetensors: ", 0), 0u) << message;
    EXPECT_NE(message.find(problem), std::string::npos)
        << "message: " << message << "\nexpected to contain: " << problem;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

std::string one_tensor_header(const std::string& entry) { return R"({"t":)" + entry + "}"; }

uint32_t bits_of(float v) { return std::bit_cast<uint32_t>(v); }
uint64_t bits_of(double v) { return std::bit_cast<uint64_t>(v); }

// A scratch directory unique to this process, removed at the end.
class ScratchDir {
 public:
  ScratchDir()
      : path_(std::filesystem::temp_directory_path() /
              ("gpt2_safetensors_test_" + std::to_string(::getpid()))) {
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() { std::filesystem::remove_all(path_); }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

// ---------------------------------------------------------------------------
// Reading valid files.

TEST(SafetensorsReader, ReadsHandBuiltFileWithEveryDtypeAndMetadata) {
  const SafetensorsFile file =
      SafetensorsFile::parse(file_bytes(kHandBuiltHeader, kHandBuiltData), "hand.safetensors");
  EXPECT_EQ(file.source(), "hand.safetensors");
  EXPECT_EQ(file.metadata(),
            (std::map<std::string, std::string>{{"format", "pt"}, {"note", "hand-built"}}));

  EXPECT_EQ(file.read_f64("d_f64"), std::vector<double>{3.141592653589793});
  EXPECT_EQ(file.read_f64("a_f32"), (std::vector<double>{1.5, -2.0}));
  const std::vector<double> f16 = file.read_f64("b_f16");
  ASSERT_EQ(f16.size(), 4u);
  EXPECT_EQ(f16[0], 1.0);
  EXPECT_EQ(f16[1], std::ldexp(1.0, -24));
  EXPECT_EQ(f16[2], -std::numeric_limits<double>::infinity());
  EXPECT_EQ(f16[3], 65504.0);
  const std::vector<double> bf16 = file.read_f64("c_bf16");
  ASSERT_EQ(bf16.size(), 2u);
  EXPECT_EQ(bf16[0], 3.140625);
  EXPECT_EQ(bits_of(bf16[1]), bits_of(-0.0));
  EXPECT_TRUE(file.read_f64("e_empty").empty());
  EXPECT_EQ(file.read_f32("b_f16"),
            (std::vector<float>{1.0f, std::ldexp(1.0f, -24),
                                -std::numeric_limits<float>::infinity(), 65504.0f}));

  const TensorInfo* f16_info = file.find("b_f16");
  ASSERT_NE(f16_info, nullptr);
  EXPECT_EQ(f16_info->dtype, Dtype::F16);
  EXPECT_EQ(f16_info->shape, (Shape{2, 2}));
  EXPECT_EQ(f16_info->begin, 16u);
  EXPECT_EQ(f16_info->end, 24u);
  EXPECT_EQ(file.raw(*f16_info), kHandBuiltData.substr(16, 8));
  EXPECT_EQ(file.find("d_f64")->shape, Shape{});
  EXPECT_EQ(file.find("e_empty")->shape, (Shape{0, 3}));
  EXPECT_EQ(file.find("missing"), nullptr);
}

TEST(SafetensorsReader, ListsTensorsInDataOffsetOrder) {
  const SafetensorsFile file =
      SafetensorsFile::parse(file_bytes(kHandBuiltHeader, kHandBuiltData), "hand.safetensors");
  std::vector<std::string> names;
  for (const TensorInfo& t : file.tensors()) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"d_f64", "a_f32", "b_f16", "c_bf16", "e_empty"}));
}

TEST(SafetensorsReader, AcceptsHeaderPaddedWithTrailingSpaces) {
  const std::string header =
      one_tensor_header(R"({"dtype":"F32","shape":[1],"data_offsets":[0,4]})") + "       ";
  const SafetensorsFile file = SafetensorsFile::parse(file_bytes(header, kOneF32), "pad");
  EXPECT_EQ(file.read_f32("t"), std::vector<float>{1.0f});
}

TEST(SafetensorsReader, AcceptsEmptyHeaderObjectWithNoData) {
  const SafetensorsFile file = SafetensorsFile::parse(file_bytes("{}", ""), "empty");
  EXPECT_TRUE(file.tensors().empty());
  EXPECT_TRUE(file.metadata().empty());
}

TEST(SafetensorsReader, AcceptsZeroElementTensorsSharingAnOffset) {
  const std::string header =
      R"({"a":{"dtype":"F16","shape":[0],"data_offsets":[0,0]},)"
      R"("b":{"dtype":"F64","shape":[5,0,288230376151711744],"data_offsets":[0,0]},)"
      R"("t":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})";
  const SafetensorsFile file = SafetensorsFile::parse(file_bytes(header, kOneF32), "zero");
  ASSERT_EQ(file.tensors().size(), 3u);
  EXPECT_TRUE(file.read_f32("a").empty());
  EXPECT_TRUE(file.read_f64("b").empty());
  EXPECT_EQ(file.read_f32("t"), std::vector<float>{1.0f});
}

TEST(SafetensorsReader, ReadF32RoundsF64ToNearest) {
  const double third = 1.0 / 3.0;
  std::string data;
  for (int i = 0; i < 8; ++i) data.push_back(static_cast<char>((bits_of(third) >> (8 * i)) & 0xff));
  const std::string header =
      one_tensor_header(R"({"dtype":"F64","shape":[1],"data_offsets":[0,8]})");
  const SafetensorsFile file = SafetensorsFile::parse(file_bytes(header, data), "third");
  EXPECT_EQ(bits_of(file.read_f32("t")[0]), bits_of(static_cast<float>(third)));
  EXPECT_EQ(bits_of(file.read_f64("t")[0]), bits_of(third));
}

TEST(SafetensorsReader, ReadingAnAbsentTensorIsInputErrorNamingIt) {
  const SafetensorsFile file =
      SafetensorsFile::parse(file_bytes(kHandBuiltHeader, kHandBuiltData), "hand.safetensors");
  try {
    file.read_f32("wte.weight");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_STREQ(e.what(), "hand.safetensors: no tensor 'wte.weight'");
  }
  EXPECT_THROW(file.read_f64("wte.weight"), InputError);
}

TEST(SafetensorsReader, MissingFileIsInputErrorNamingThePath) {
  const std::string path = "/nonexistent-dir/model.safetensors";
  try {
    SafetensorsFile::read(path);
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ": ", 0), 0u) << e.what();
  }
}

// ---------------------------------------------------------------------------
// Writing.

TEST(SafetensorsWriter, RoundTripIsBitIdenticalAndKeepsMetadata) {
  const std::vector<float> f32 = {0.0f,
                                  -0.0f,
                                  1.0f / 3.0f,
                                  std::numeric_limits<float>::denorm_min(),
                                  std::numeric_limits<float>::max(),
                                  std::numeric_limits<float>::infinity(),
                                  -std::numeric_limits<float>::infinity(),
                                  std::bit_cast<float>(0x7fc01234u)};  // NaN with a payload
  const std::vector<double> f64 = {-0.0, 0.1, std::numeric_limits<double>::denorm_min(),
                                   std::numeric_limits<double>::lowest(),
                                   std::bit_cast<double>(0xfff8000000000abcull)};
  const std::map<std::string, std::string> metadata = {{"format", "pt"},
                                                       {"note", "unicode \xc3\xa9 ok"}};
  const std::vector<TensorToWrite> tensors = {
      {"x.f32", Dtype::F32, {2, 4}, nullptr, f32.data()},
      {"a.f64", Dtype::F64, {5}, f64.data(), nullptr},
      {"empty", Dtype::F32, {3, 0}, nullptr, nullptr},
  };
  const std::string bytes = serialize_safetensors(tensors, metadata);
  const SafetensorsFile file = SafetensorsFile::parse(bytes, "round.safetensors");

  EXPECT_EQ(file.metadata(), metadata);
  ASSERT_EQ(file.tensors().size(), 3u);
  EXPECT_EQ(file.tensors()[0].name, "x.f32");  // data in the order given
  EXPECT_EQ(file.find("x.f32")->shape, (Shape{2, 4}));
  EXPECT_EQ(file.find("x.f32")->dtype, Dtype::F32);
  EXPECT_EQ(file.find("a.f64")->dtype, Dtype::F64);
  EXPECT_EQ(file.find("empty")->shape, (Shape{3, 0}));

  const std::vector<float> f32_back = file.read_f32("x.f32");
  ASSERT_EQ(f32_back.size(), f32.size());
  for (size_t i = 0; i < f32.size(); ++i)
    EXPECT_EQ(bits_of(f32_back[i]), bits_of(f32[i])) << "element " << i;
  const std::vector<double> f64_back = file.read_f64("a.f64");
  ASSERT_EQ(f64_back.size(), f64.size());
  for (size_t i = 0; i < f64.size(); ++i)
    EXPECT_EQ(bits_of(f64_back[i]), bits_of(f64[i])) << "element " << i;
  EXPECT_TRUE(file.read_f32("empty").empty());
}

TEST(SafetensorsWriter, SameInputGivesSameBytesTwice) {
  const std::vector<double> values = {1.0, 2.0, 3.0};
  const std::vector<TensorToWrite> tensors = {{"z", Dtype::F64, {3}, values.data(), nullptr},
                                              {"a", Dtype::F32, {3}, values.data(), nullptr}};
  EXPECT_EQ(serialize_safetensors(tensors, {{"k", "v"}}),
            serialize_safetensors(tensors, {{"k", "v"}}));
}

TEST(SafetensorsWriter, HeaderIsCompactSortedAndSpacePaddedToEightBytes) {
  const std::vector<float> one = {1.0f};
  const std::vector<double> two = {2.0};
  const std::string bytes = serialize_safetensors(
      {{"b", Dtype::F32, {1}, nullptr, one.data()}, {"a", Dtype::F64, {1}, two.data(), nullptr}},
      {{"k", "v"}});
  std::string header = R"({"__metadata__":{"k":"v"},)"
                       R"("a":{"data_offsets":[4,12],"dtype":"F64","shape":[1]},)"
                       R"("b":{"data_offsets":[0,4],"dtype":"F32","shape":[1]}})";
  header.append((8 - header.size() % 8) % 8, ' ');
  const std::string data(
      "\x00\x00\x80\x3f"                   // b: 1.0f
      "\x00\x00\x00\x00\x00\x00\x00\x40",  // a: 2.0
      12);
  EXPECT_EQ(bytes, le64(header.size()) + header + data);
  EXPECT_EQ(header.size() % 8, 0u);
}

TEST(SafetensorsWriter, OmitsMetadataWhenEmpty) {
  const std::string bytes = serialize_safetensors({}, {});
  EXPECT_EQ(bytes, le64(8) + "{}      ");
}

TEST(SafetensorsWriter, F64DataStoredAsF32RoundsToNearest) {
  const std::vector<double> values = {0.1, 1.0 + std::ldexp(1.0, -24)};  // the second is a tie
  const std::string bytes =
      serialize_safetensors({{"t", Dtype::F32, {2}, values.data(), nullptr}}, {});
  const std::vector<float> back = SafetensorsFile::parse(bytes, "r").read_f32("t");
  EXPECT_EQ(bits_of(back[0]), bits_of(0.1f));
  EXPECT_EQ(bits_of(back[1]), bits_of(1.0f));  // ties to even
}

TEST(SafetensorsWriter, WritesFileAtomicallyThatReadsBack) {
  ScratchDir dir;
  const std::string path = dir.file("w.safetensors");
  const std::vector<float> values = {4.0f, 5.0f};
  write_safetensors(path, {{"t", Dtype::F32, {2}, nullptr, values.data()}}, {{"k", "v"}});
  const SafetensorsFile file = SafetensorsFile::read(path);
  EXPECT_EQ(file.read_f32("t"), values);
  EXPECT_EQ(file.metadata().at("k"), "v");
  // Only the final file remains: the temporary name was renamed away.
  int entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    (void)entry;
    ++entries;
  }
  EXPECT_EQ(entries, 1);
}

// ---------------------------------------------------------------------------
// Bad input: one test per problem, each an InputError naming file and problem.

TEST(SafetensorsBadInput, FileShorterThanLengthPrefixIsTruncated) {
  expect_rejected("", "too short for the 8-byte header length");
  expect_rejected(std::string("\x02\x00\x00", 3), "too short for the 8-byte header length");
}

TEST(SafetensorsBadInput, HeaderLengthBeyondFile) {
  expect_rejected(le64(100) + "{}", "header length 100 is beyond the end of the file");
}

TEST(SafetensorsBadInput, HeaderLengthOver100MiB) {
  expect_rejected(le64((100ull << 20) + 1) + "{}", "header length 104857601 exceeds the limit");
}

TEST(SafetensorsBadInput, HeaderLengthNear2To64DoesNotWrapAround) {
  expect_rejected(le64(~0ull) + "{}", "exceeds the limit");
  expect_rejected(le64(~0ull - 7) + "{}", "exceeds the limit");
}

TEST(SafetensorsBadInput, FileTruncatedInsideTheHeader) {
  const std::string full = file_bytes(kHandBuiltHeader, kHandBuiltData);
  expect_rejected(full.substr(0, 8 + kHandBuiltHeader.size() / 2), "is beyond the end of the file");
}

TEST(SafetensorsBadInput, FileTruncatedInsideTheData) {
  const std::string full = file_bytes(kHandBuiltHeader, kHandBuiltData);
  expect_rejected(full.substr(0, full.size() - 1),
                  "tensor 'c_bf16': data_offsets [24, 28] reach beyond the data buffer (27 bytes)");
}

TEST(SafetensorsBadInput, HeaderThatIsNotAnObject) {
  expect_rejected(file_bytes("[1,2]", ""), "header is not a JSON object");
  expect_rejected(file_bytes("\"t\"", ""), "header is not a JSON object");
}

TEST(SafetensorsBadInput, HeaderNotStartingWithBrace) {
  expect_rejected(file_bytes(" {}", ""), "must start with '{'");
  expect_rejected(file_bytes("", ""), "must start with '{'");
}

TEST(SafetensorsBadInput, HeaderThatIsNotValidJson) {
  expect_rejected(file_bytes("{\"t\":", ""), "invalid JSON");
  expect_rejected(file_bytes("{}x", ""), "invalid JSON");
}

TEST(SafetensorsBadInput, HeaderWithNulByteAfterTheObject) {
  // The JSON parser would take NUL for the end of its input and ignore the rest.
  expect_rejected(file_bytes(std::string("{}\0\0", 4), ""), "header contains a NUL byte (byte 2");
  expect_rejected(file_bytes(std::string("{}\0x", 4), ""), "header contains a NUL byte");
}

TEST(SafetensorsBadInput, InvalidUtf8InHeader) {
  // A lone continuation byte, an overlong '/', a surrogate, a truncated sequence.
  for (const std::string& bad : {std::string("\x80"), std::string("\xc0\xaf"),
                                 std::string("\xed\xa0\x80"), std::string("\xe2\x82")}) {
    expect_rejected(file_bytes("{\"a" + bad + "\":{}}", ""), "header is not valid UTF-8 (byte 3");
  }
}

TEST(SafetensorsBadInput, DuplicateTensorName) {
  const std::string entry = R"({"dtype":"F32","shape":[1],"data_offsets":[0,4]})";
  expect_rejected(file_bytes("{\"t\":" + entry + ",\"t\":" + entry + "}", kOneF32 + kOneF32),
                  "duplicate key 't'");
}

TEST(SafetensorsBadInput, UnsupportedDtypes) {
  for (const std::string dtype : {"I64", "U8", "BOOL", "F8_E4M3", "f32", "F128"}) {
    expect_rejected(file_bytes(one_tensor_header(R"({"dtype":")" + dtype +
                                                 R"(","shape":[1],"data_offsets":[0,4]})"),
                               kOneF32),
                    "tensor 't': unsupported dtype '" + dtype + "'");
  }
  expect_rejected(
      file_bytes(one_tensor_header(R"({"dtype":4,"shape":[1],"data_offsets":[0,4]})"), kOneF32),
      "tensor 't': dtype must be a string, found 4");
}

TEST(SafetensorsBadInput, NegativeShapeEntry) {
  expect_rejected(
      file_bytes(one_tensor_header(R"({"dtype":"F32","shape":[1,-1],"data_offsets":[0,4]})"),
                 kOneF32),
      "tensor 't': shape entry 1 is -1, expected a non-negative integer");
}

TEST(SafetensorsBadInput, FloatShapeEntries) {
  expect_rejected(
      file_bytes(one_tensor_header(R"({"dtype":"F32","shape":[1.0],"data_offsets":[0,4]})"),
                 kOneF32),
      "tensor 't': shape entry 0 is 1.0, expected a non-negative integer");
  expect_rejected(
      file_bytes(one_tensor_header(R"({"dtype":"F32","shape":[1e0],"data_offsets":[0,4]})"),
                 kOneF32),
      "expected a non-negative integer");
  expect_rejected(
      file_bytes(one_tensor_header(R"({"dtype":"F32","shape":["1"],"data_offsets":[0,4]})"),
                 kOneF32),
      "shape entry 0 is the string '1', expected a non-negative integer");
  expect_rejected(
      file_bytes(one_tensor_header(R"({"dtype":"F32","shape":4,"data_offsets":[0,4]})"), kOneF32),
      "shape must be an array, found 4");
}

TEST(SafetensorsBadInput, HugeShapeProductOverflows) {
  // 2^32 × 2^32 wraps to 0 in u64: a naive product would "match" [0, 0].
  expect_rejected(file_bytes(one_tensor_header(R"({"dtype":"F32","shape":[4294967296,)"
                                               R"(4294967296],"data_offsets":[0,0]})"),
                             ""),
                  "shape [4294967296, 4294967296] has too many elements");
  // 2^62 elements of 4 bytes wrap to 0 bytes.
  expect_rejected(file_bytes(one_tensor_header(R"({"dtype":"F32","shape":[4611686018427387904],)"
                                               R"("data_offsets":[0,0]})"),
                             ""),
                  "has too many elements");
  // A zero dimension does not excuse a product that overflows int64 before it.
  expect_rejected(file_bytes(one_tensor_header(R"({"dtype":"F32","shape":[4294967296,)"
                                               R"(4294967296,0],"data_offsets":[0,0]})"),
                             ""),
                  "has too many elements");
  expect_rejected(file_bytes(one_tensor_header(R"({"dtype":"F32","shape":[9223372036854775808],)"
                                               R"("data_offsets":[0,0]})"),
                             ""),
                  "shape entry 0 is 9223372036854775808, too large");
  // Beyond u64 the JSON number is a float.
  expect_rejected(file_bytes(one_tensor_header(R"({"dtype":"F32","shape":[18446744073709551616],)"
                                               R"("data_offsets":[0,0]})"),
                             ""),
                  "expected a non-negative integer");
}

TEST(SafetensorsBadInput, BeginAfterEnd) {
  expect_rejected(
      file_bytes(one_tensor_header(R"({"dtype":"F32","shape":[1],"data_offsets":[4,0]})"), kOneF32),
      "tensor 't': data_offsets [4, 0] are unsorted (begin > end)");
}

TEST(SafetensorsBadInput, OffsetsBeyondBuffer) {
  expect_rejected(
      file_bytes(one_tensor_header(R"({"dtype":"F32","shape":[1],"data_offsets":[4,8]})"), kOneF32),
      "tensor 't': data_offsets [4, 8] reach beyond the data buffer (4 bytes)");
  expect_rejected(file_bytes(one_tensor_header(R"({"dtype":"F32","shape":[1],"data_offsets":)"
                                               R"([18446744073709551612,18446744073709551615]})"),
                             kOneF32),
                  "reach beyond the data buffer");
}

TEST(SafetensorsBadInput, MalformedDataOffsets) {
  for (const std::string offsets : {"[0]", "[0,4,8]", "[-4,0]", "[0,4.0]", "\"0,4\"", "{}"}) {
    expect_rejected(file_bytes(one_tensor_header(R"({"dtype":"F32","shape":[1],"data_offsets":)" +
                                                 offsets + "}"),
                               kOneF32),
                    "tensor 't': data_offsets must be [begin, end] with non-negative integers");
  }
}

TEST(SafetensorsBadInput, OverlappingOffsets) {
  const std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                             R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})";
  expect_rejected(file_bytes(header, std::string(12, '\0')),
                  "tensors 'a' [0, 8] and 'b' [4, 12] overlap");
  // A zero-sized tensor inside another still overlaps it.
  const std::string inside = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                             R"("b":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}})";
  expect_rejected(file_bytes(inside, std::string(8, '\0')), "overlap");
}

TEST(SafetensorsBadInput, HoleBetweenTensors) {
  const std::string header = R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                             R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})";
  expect_rejected(file_bytes(header, std::string(12, '\0')),
                  "bytes [4, 8) of the data buffer belong to no tensor (a hole before 'b')");
}

TEST(SafetensorsBadInput, HoleAtStartOfBuffer) {
  expect_rejected(
      file_bytes(one_tensor_header(R"({"dtype":"F32","shape":[1],"data_offsets":[4,8]})"),
                 std::string(8, '\0')),
      "bytes [0, 4) of the data buffer belong to no tensor");
}

TEST(SafetensorsBadInput, UnindexedBytesAtEndOfBuffer) {
  expect_rejected(
      file_bytes(one_tensor_header(R"({"dtype":"F32","shape":[1],"data_offsets":[0,4]})"),
                 kOneF32 + "junk"),
      "bytes [4, 8) at the end of the data buffer belong to no tensor");
  expect_rejected(file_bytes("{}", "x"), "bytes [0, 1) at the end of the data buffer");
}

TEST(SafetensorsBadInput, ByteSizeDisagreesWithDtypeAndShape) {
  const std::string header =
      R"({"h.0.ln_1.weight":{"dtype":"F32","shape":[16],"data_offsets":[0,60]}})";
  expect_rejected(file_bytes(header, std::string(60, '\0')),
                  "tensor 'h.0.ln_1.weight': data_offsets [0, 60] hold 60 bytes but F32 [16] "
                  "needs 64");
  // Right size for F32, wrong for F16.
  expect_rejected(
      file_bytes(one_tensor_header(R"({"dtype":"F16","shape":[1],"data_offsets":[0,4]})"), kOneF32),
      "hold 4 bytes but F16 [1] needs 2");
  // A scalar (shape []) is one element.
  expect_rejected(
      file_bytes(one_tensor_header(R"({"dtype":"F64","shape":[],"data_offsets":[0,4]})"), kOneF32),
      "hold 4 bytes but F64 [] needs 8");
}

TEST(SafetensorsBadInput, TensorEntryThatIsNotAnObject) {
  expect_rejected(file_bytes(one_tensor_header("[1]"), ""),
                  "tensor 't': expected an object with \"dtype\", \"shape\" and \"data_offsets\"");
}

TEST(SafetensorsBadInput, TensorEntryWithMissingOrUnexpectedKey) {
  expect_rejected(file_bytes(one_tensor_header(R"({"dtype":"F32","shape":[1]})"), kOneF32),
                  "tensor 't': missing key \"data_offsets\"");
  expect_rejected(
      file_bytes(one_tensor_header(R"({"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":1})"),
                 kOneF32),
      "tensor 't': unexpected key 'extra'");
}

TEST(SafetensorsBadInput, MetadataThatIsNotAnObject) {
  expect_rejected(file_bytes(R"({"__metadata__":["a"]})", ""),
                  "__metadata__ must be an object of strings, found an array of 1");
}

TEST(SafetensorsBadInput, MetadataValueThatIsNotAString) {
  expect_rejected(file_bytes(R"({"__metadata__":{"format":"pt","step":3}})", ""),
                  "__metadata__ value for key 'step' must be a string, found 3");
}

TEST(SafetensorsBadInput, ControlCharactersInNamesKeepMessageOnOneLine) {
  expect_rejected(file_bytes(one_tensor_header("[]").replace(2, 1, "a\\nb"), ""),
                  "tensor 'a\\x0ab'");
  // A very long name is cut short in the message.
  const std::string long_name(10000, 'n');
  try {
    SafetensorsFile::parse(file_bytes("{\"" + long_name + "\":[]}", ""), "bad.safetensors");
    FAIL() << "no error";
  } catch (const InputError& e) {
    EXPECT_LT(std::string(e.what()).size(), 400u) << e.what();
  }
}

// ---------------------------------------------------------------------------
// Half and bfloat16 conversion.

// f16 value from the definition: (-1)^s × 2^(e-15) × 1.m, or 2^-14 × 0.m.
double f16_by_definition(uint16_t bits) {
  const int sign = bits >> 15, exponent = (bits >> 10) & 31, mantissa = bits & 1023;
  const double magnitude =
      exponent == 0 ? std::ldexp(mantissa, -24) : std::ldexp(1024 + mantissa, exponent - 25);
  return sign ? -magnitude : magnitude;
}

// ---------------------------------------------------------------------------
// Cost: a header's parse grows as n log n in its entries.

// A file of n F32 tensors of one element each: "t0000000", "t0000001", ...
std::string file_of_n_tensors(int n) {
  std::string header = "{";
  for (int i = 0; i < n; ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "t%07d", i);
    header += std::string(i ? "," : "") + "\"" + name +
              "\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[" + std::to_string(4 * i) +
              "," + std::to_string(4 * i + 4) + "]}";
  }
  header += "}";
  return file_bytes(header, std::string(4 * size_t(n), '\0'));
}

// The best of five parses of a file of n tensors, in CPU seconds.
double parse_cpu_seconds(int n) {
  const std::string bytes = file_of_n_tensors(n);
  double best = 1e300;
  for (int r = 0; r < 5; ++r) {
    timespec start{}, end{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &start);
    const SafetensorsFile f = SafetensorsFile::parse(bytes, "many.safetensors");
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &end);
    EXPECT_EQ(f.tensors().size(), size_t(n));
    best = std::min(best, (end.tv_sec - start.tv_sec) + 1e-9 * (end.tv_nsec - start.tv_nsec));
  }
  return best;
}

// Eight times the entries cost about nine times the time when parsing is
// n log n, and 64 times when it is quadratic, as it was (nlohmann's callback
// parser rescanned the whole object after every entry: 30,000 entries took
// minutes). A ratio, not a time, so the machine's speed and load cancel; the
// bound of 24 sits far from both. bench/loader_bench measures the absolute
// cost (100,000 entries: see the README).
TEST(SafetensorsReader, HeaderParsingGrowsAsNLogNInTheEntries) {
  const double small = parse_cpu_seconds(2000);
  const double large = parse_cpu_seconds(16000);
  EXPECT_LT(large / small, 24.0) << "2,000 entries: " << small << " s, 16,000: " << large << " s";
}

TEST(SafetensorsHalfFloat, F16ToF32IsExactForEveryFiniteValue) {
  for (uint32_t b = 0; b < 65536; ++b) {
    const auto bits = static_cast<uint16_t>(b);
    if (((bits >> 10) & 31) == 31) continue;  // Inf and NaN: below
    const float got = f16_to_f32(bits);
    EXPECT_EQ(static_cast<double>(got), f16_by_definition(bits)) << "bits 0x" << std::hex << b;
    EXPECT_EQ(std::signbit(got), (bits >> 15) != 0) << "bits 0x" << std::hex << b;
  }
}

TEST(SafetensorsHalfFloat, F16SubnormalsConvertExactly) {
  EXPECT_EQ(f16_to_f32(0x0001), std::ldexp(1.0f, -24));     // smallest
  EXPECT_EQ(f16_to_f32(0x0200), std::ldexp(1.0f, -15));     // mid
  EXPECT_EQ(f16_to_f32(0x03ff), std::ldexp(1023.0f, -24));  // largest
  EXPECT_EQ(f16_to_f32(0x8001), -std::ldexp(1.0f, -24));    // negative
  EXPECT_EQ(f16_to_f32(0x0400), std::ldexp(1.0f, -14));     // smallest normal
  EXPECT_EQ(bits_of(f16_to_f32(0x8000)), bits_of(-0.0f));   // -0 keeps its sign
}

TEST(SafetensorsHalfFloat, F16InfinityAndNanConvert) {
  EXPECT_EQ(f16_to_f32(0x7c00), std::numeric_limits<float>::infinity());
  EXPECT_EQ(f16_to_f32(0xfc00), -std::numeric_limits<float>::infinity());
  for (uint32_t m = 1; m < 1024; ++m) {
    const float positive = f16_to_f32(static_cast<uint16_t>(0x7c00 | m));
    const float negative = f16_to_f32(static_cast<uint16_t>(0xfc00 | m));
    EXPECT_TRUE(std::isnan(positive)) << m;
    EXPECT_TRUE(std::isnan(negative) && std::signbit(negative)) << m;
    EXPECT_EQ(bits_of(positive), 0x7f800000u | (m << 13)) << "payload kept, mantissa " << m;
  }
}

TEST(SafetensorsHalfFloat, Bf16ToF32IsTheTopHalfOfTheFloat) {
  EXPECT_EQ(bf16_to_f32(0x3f80), 1.0f);
  EXPECT_EQ(bf16_to_f32(0x4049), 3.140625f);
  EXPECT_EQ(bf16_to_f32(0x0001), std::bit_cast<float>(0x00010000u));  // subnormal
  EXPECT_EQ(bf16_to_f32(0xff80), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(bf16_to_f32(0x7fc0)));
}

TEST(SafetensorsHalfFloat, F32ToBf16RoundsToNearestTiesToEven) {
  // Exactly halfway: keep the even neighbour.
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3f808000u)), 0x3f80);  // ...80 is even
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3f818000u)), 0x3f82);  // ...81 is odd
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0xbf818000u)), 0xbf82);  // negative tie
  // Off the tie: nearest.
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3f808001u)), 0x3f81);
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3f807fffu)), 0x3f80);
  // A carry into the exponent, and past the largest bfloat16 to Inf.
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0x3fffffffu)), 0x4000);
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::max()), 0x7f80);
  EXPECT_EQ(f32_to_bf16(-std::numeric_limits<float>::infinity()), 0xff80);
  EXPECT_EQ(f32_to_bf16(-0.0f), 0x8000);
}

TEST(SafetensorsHalfFloat, F32ToBf16KeepsNanAsNan) {
  // Payload only in the low 16 bits: truncation alone would give Inf.
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::bit_cast<float>(0x7f800001u)))));
  EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::bit_cast<float>(0xff800001u)))));
  EXPECT_EQ(f32_to_bf16(std::bit_cast<float>(0xffc00000u)), 0xffc0);
}

TEST(SafetensorsHalfFloat, Bf16SurvivesARoundTripThroughF32) {
  for (uint32_t b = 0; b < 65536; ++b) {
    const auto bits = static_cast<uint16_t>(b);
    const float f = bf16_to_f32(bits);
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(f))));
    } else {
      EXPECT_EQ(f32_to_bf16(f), bits) << "bits 0x" << std::hex << b;
    }
  }
}

}  // namespace
}  // namespace gpt2
