// safetensors: round trips, files written by Python's safetensors 0.8, and the real model file.
#include "io/safetensors.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

#include "io/json.h"
#include "io_test_support.h"

namespace embedtune::io {
namespace {

using testing::as_bytes;
using testing::error_of;
using ::testing::HasSubstr;
using testing::oracle_dir;
using testing::read_bytes;
using testing::ScratchDir;
using testing::sha256_hex;

constexpr DType kAllDTypes[] = {DType::BOOL, DType::U8,  DType::I8,  DType::I16, DType::U16,
                                DType::I32,  DType::U32, DType::I64, DType::U64, DType::F16,
                                DType::BF16, DType::F32, DType::F64};

DType dtype_from_name(const std::string& name) {
  for (DType d : kAllDTypes) {
    if (dtype_name(d) == name) return d;
  }
  throw std::runtime_error("unknown dtype in manifest: " + name);
}

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = static_cast<uint8_t>(seed * 31 + i * 7 + 1);
  return v;
}

TEST(DType, NamesAndSizesMatchSafetensors) {
  const std::map<std::string, size_t> expected = {
      {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"I16", 2},  {"U16", 2}, {"I32", 4}, {"U32", 4},
      {"I64", 8},  {"U64", 8}, {"F16", 2}, {"BF16", 2}, {"F32", 4}, {"F64", 8}};
  for (DType d : kAllDTypes) {
    ASSERT_TRUE(expected.count(std::string(dtype_name(d)))) << dtype_name(d);
    EXPECT_EQ(dtype_size(d), expected.at(std::string(dtype_name(d)))) << dtype_name(d);
  }
}

TEST(Safetensors, RoundTripEveryDtypeScalarAndZeroSize) {
  ScratchDir dir;
  std::vector<std::vector<uint8_t>> storage;
  std::vector<TensorData> tensors;
  int i = 0;
  for (DType d : kAllDTypes) {
    const std::string n(dtype_name(d));
    storage.push_back(pattern(2 * 3 * dtype_size(d), static_cast<uint8_t>(i)));
    tensors.push_back({"t." + n, d, {2, 3}, std::as_bytes(std::span(storage.back()))});
    storage.push_back(pattern(dtype_size(d), static_cast<uint8_t>(i + 100)));
    tensors.push_back({"scalar." + n, d, {}, std::as_bytes(std::span(storage.back()))});
    tensors.push_back({"empty." + n, d, {0, 5}, {}});
    ++i;
  }
  const std::map<std::string, std::string> metadata = {{"format", "pt"}, {"note", "é \"q\"\n"}};
  write_safetensors(dir / "all.safetensors", tensors, metadata);

  const SafetensorsFile file = SafetensorsFile::open(dir / "all.safetensors");
  EXPECT_EQ(file.metadata(), metadata);
  ASSERT_EQ(file.tensors().size(), tensors.size());
  EXPECT_TRUE(std::is_sorted(file.tensors().begin(), file.tensors().end(),
                             [](const auto& a, const auto& b) { return a.name < b.name; }));
  for (const TensorData& t : tensors) {
    const TensorInfo* info = file.find(t.name);
    ASSERT_NE(info, nullptr) << t.name;
    EXPECT_EQ(info->dtype, t.dtype) << t.name;
    EXPECT_EQ(info->shape, t.shape) << t.name;
    const auto bytes = file.data(*info);
    ASSERT_EQ(bytes.size(), t.bytes.size()) << t.name;
    EXPECT_TRUE(bytes.empty() || std::memcmp(bytes.data(), t.bytes.data(), bytes.size()) == 0)
        << t.name;
  }
  EXPECT_EQ(file.find("absent"), nullptr);
  EXPECT_EQ(file.find(""), nullptr);
}

TEST(Safetensors, MovedFileKeepsItsMapping) {
  ScratchDir dir;
  const std::vector<uint8_t> bytes = pattern(16, 3);
  write_safetensors(dir / "m.safetensors",
                    {{"x", DType::F32, {4}, std::as_bytes(std::span(bytes))}});
  SafetensorsFile a = SafetensorsFile::open(dir / "m.safetensors");
  SafetensorsFile b = std::move(a);
  SafetensorsFile c = SafetensorsFile::open(dir / "m.safetensors");
  c = std::move(b);
  const auto data = c.data(*c.find("x"));
  ASSERT_EQ(data.size(), 16u);
  EXPECT_EQ(std::memcmp(data.data(), bytes.data(), 16), 0);
  EXPECT_EQ(c.path(), dir / "m.safetensors");
}

// The kB of this process's resident set inside the mapping that holds `address`
// (/proc/self/smaps' Rss line of that mapping), or -1 when no mapping holds it.
long resident_kb(const void* address) {
  std::ifstream smaps("/proc/self/smaps");
  const auto where = reinterpret_cast<uintptr_t>(address);
  std::string line;
  bool inside = false;
  while (std::getline(smaps, line)) {
    uintptr_t lo = 0, hi = 0;
    char dash = 0;
    std::istringstream range(line);
    if (range >> std::hex >> lo >> dash >> hi && dash == '-') {
      inside = lo <= where && where < hi;
    } else if (inside && line.rfind("Rss:", 0) == 0) {
      return std::stol(line.substr(4));
    }
  }
  return -1;
}

TEST(Safetensors, ReleasedBytesLeaveTheResidentSetAndReadBackTheSame) {
  ScratchDir dir;
  const std::vector<uint8_t> big = pattern(8 << 20, 5);  // 8 MiB: 2,048 pages of 4 KiB
  const std::vector<uint8_t> small = pattern(64, 9);
  write_safetensors(dir / "r.safetensors",
                    {{"big", DType::F32, {2 << 20}, std::as_bytes(std::span(big))},
                     {"small", DType::U8, {64}, std::as_bytes(std::span(small))}});
  const SafetensorsFile file = SafetensorsFile::open(dir / "r.safetensors");
  const TensorInfo& info = *file.find("big");
  const auto bytes = file.data(info);
  ASSERT_EQ(bytes.size(), big.size());
  ASSERT_EQ(std::memcmp(bytes.data(), big.data(), big.size()), 0);  // every page read: resident
  const long before = resident_kb(bytes.data());
  ASSERT_GE(before, 8 << 10) << "the mapping's pages were not counted as resident";

  file.release(info);
  // What stays: at most the two pages the tensor shares with the header and the next tensor.
  const long page_kb = ::sysconf(_SC_PAGESIZE) / 1024;
  EXPECT_LE(resident_kb(bytes.data()), before - (8 << 10) + 2 * page_kb);
  EXPECT_EQ(std::memcmp(bytes.data(), big.data(), big.size()), 0);  // read again from the file
  const auto rest = file.data(*file.find("small"));
  EXPECT_EQ(std::memcmp(rest.data(), small.data(), small.size()), 0);
  file.release(*file.find("small"));  // shorter than a page: nothing to drop, nothing breaks
  EXPECT_EQ(std::memcmp(rest.data(), small.data(), small.size()), 0);
}

// The header Python's save_file writes for one tensor of each numpy dtype, copied from
// safetensors 0.8 (tensors sorted by the Rust Dtype enum, descending, then by name).
TEST(Safetensors, HeaderOrderMatchesPythonSaveFile) {
  ScratchDir dir;
  std::vector<TensorData> tensors;
  std::vector<std::vector<uint8_t>> storage;
  const std::pair<const char*, DType> items[] = {
      {"bool", DType::BOOL}, {"u8", DType::U8},   {"i8", DType::I8},   {"i16", DType::I16},
      {"u16", DType::U16},   {"f16", DType::F16}, {"i32", DType::I32}, {"u32", DType::U32},
      {"f32", DType::F32},   {"f64", DType::F64}, {"i64", DType::I64}, {"u64", DType::U64}};
  for (const auto& [name, dtype] : items) {
    storage.emplace_back(dtype_size(dtype), 0);
    tensors.push_back({name, dtype, {1}, std::as_bytes(std::span(storage.back()))});
  }
  write_safetensors(dir / "order.safetensors", tensors);
  const std::string expected = R"({"u64":{"dtype":"U64","shape":[1],"data_offsets":[0,8]},)"
                               R"("i64":{"dtype":"I64","shape":[1],"data_offsets":[8,16]},)"
                               R"("f64":{"dtype":"F64","shape":[1],"data_offsets":[16,24]},)"
                               R"("f32":{"dtype":"F32","shape":[1],"data_offsets":[24,28]},)"
                               R"("u32":{"dtype":"U32","shape":[1],"data_offsets":[28,32]},)"
                               R"("i32":{"dtype":"I32","shape":[1],"data_offsets":[32,36]},)"
                               R"("f16":{"dtype":"F16","shape":[1],"data_offsets":[36,38]},)"
                               R"("u16":{"dtype":"U16","shape":[1],"data_offsets":[38,40]},)"
                               R"("i16":{"dtype":"I16","shape":[1],"data_offsets":[40,42]},)"
                               R"("i8":{"dtype":"I8","shape":[1],"data_offsets":[42,43]},)"
                               R"("u8":{"dtype":"U8","shape":[1],"data_offsets":[43,44]},)"
                               R"("bool":{"dtype":"BOOL","shape":[1],"data_offsets":[44,45]}})";
  const std::string bytes = read_bytes(dir / "order.safetensors");
  ASSERT_EQ(expected.size() % 8, 0u);
  EXPECT_EQ(bytes.substr(8, expected.size()), expected);
  EXPECT_EQ(bytes.size(), 8 + expected.size() + 45);
}

void check_against_manifest(const SafetensorsFile& file, const nlohmann::json& manifest,
                            bool check_all_hashes) {
  ASSERT_EQ(file.tensors().size(), manifest["tensors"].size()) << file.path();
  for (const auto& expected : manifest["tensors"]) {
    const std::string name = expected["name"];
    const TensorInfo* info = file.find(name);
    ASSERT_NE(info, nullptr) << name;
    EXPECT_EQ(dtype_name(info->dtype), expected["dtype"].get<std::string>()) << name;
    EXPECT_EQ(info->shape, expected["shape"].get<std::vector<int64_t>>()) << name;
    EXPECT_EQ(info->begin, expected["data_offsets"][0].get<size_t>()) << name;
    EXPECT_EQ(info->end, expected["data_offsets"][1].get<size_t>()) << name;
    if (check_all_hashes || info->end - info->begin < (1u << 20) || info->dtype == DType::I64) {
      EXPECT_EQ(sha256_hex(file.data(*info)), expected["sha256"].get<std::string>()) << name;
    }
  }
  EXPECT_EQ(file.metadata(), (manifest["metadata"].get<std::map<std::string, std::string>>()));
}

TEST(Safetensors, ReadsPythonFilesAsTheManifestSays) {
  const auto dir = oracle_dir();
  const auto manifest = read_json_file(dir / "safetensors.json");
  ASSERT_GE(manifest["files"].size(), 4u);
  for (const auto& entry : manifest["files"]) {
    SCOPED_TRACE(entry["file"].get<std::string>());
    check_against_manifest(SafetensorsFile::open(dir / entry["file"].get<std::string>()), entry,
                           true);
  }
}

// Re-writing the tensors read from each Python file reproduces it: byte for byte where Python's
// output is deterministic (at most one metadata key), else the same header and data.
TEST(Safetensors, WritesFilesIdenticalToPythonSaveFile) {
  const auto dir = oracle_dir();
  ScratchDir scratch;
  const auto manifest = read_json_file(dir / "safetensors.json");
  int identical = 0;
  for (const auto& entry : manifest["files"]) {
    const std::string name = entry["file"];
    SCOPED_TRACE(name);
    const SafetensorsFile python = SafetensorsFile::open(dir / name);
    std::vector<TensorData> tensors;
    for (const TensorInfo& info : python.tensors()) {
      tensors.push_back({info.name, info.dtype, info.shape, python.data(info)});
    }
    write_safetensors(scratch / name, tensors, python.metadata());
    const std::string ours = read_bytes(scratch / name);
    const std::string theirs = read_bytes(dir / name);
    if (entry["byte_identical"].get<bool>()) {
      EXPECT_EQ(ours, theirs);
      ++identical;
      continue;
    }
    ASSERT_EQ(ours.size(), theirs.size());
    uint64_t n = 0;
    std::memcpy(&n, theirs.data(), 8);
    EXPECT_EQ(ours.substr(0, 8), theirs.substr(0, 8));
    EXPECT_EQ(nlohmann::json::parse(ours.substr(8, n)), nlohmann::json::parse(theirs.substr(8, n)));
    EXPECT_EQ(ours.substr(8 + n), theirs.substr(8 + n));
  }
  EXPECT_GE(identical, 3);
}

TEST(Safetensors, ReadsTheDefaultModel) {
  const auto dir = oracle_dir();
  const auto manifest = read_json_file(dir / "model.json");
  const char* model = std::getenv("EMBEDTUNE_DEFAULT_MODEL");
  ASSERT_NE(model, nullptr) << "EMBEDTUNE_DEFAULT_MODEL is not set";
  const SafetensorsFile file =
      SafetensorsFile::open(std::filesystem::path(model) / "model.safetensors");
  EXPECT_EQ(file.tensors().size(), 104u);
  check_against_manifest(file, manifest, /*check_all_hashes=*/false);
  const TensorInfo* ids = file.find("embeddings.position_ids");
  ASSERT_NE(ids, nullptr);
  EXPECT_EQ(ids->dtype, DType::I64);
  EXPECT_EQ(ids->shape, (std::vector<int64_t>{1, 512}));
  std::vector<int64_t> values(512);
  std::memcpy(values.data(), file.data(*ids).data(), 512 * 8);
  std::vector<int64_t> expected(512);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(values, expected);
}

TEST(Safetensors, WriteRejectsBadInput) {
  ScratchDir dir;
  const std::vector<uint8_t> b8(8, 0);
  const auto bytes = std::as_bytes(std::span(b8));
  const auto path = dir / "bad.safetensors";
  EXPECT_THAT(error_of([&] { write_safetensors(path, {{"x", DType::F32, {3}, bytes}}); }),
              HasSubstr("shape [3] of F32 needs 12 bytes but 8 were given"));
  EXPECT_THAT(error_of([&] {
                write_safetensors(path,
                                  {{"x", DType::U8, {8}, bytes}, {"x", DType::I64, {1}, bytes}});
              }),
              HasSubstr("two tensors named \"x\""));
  EXPECT_THAT(error_of([&] { write_safetensors(path, {{"__metadata__", DType::U8, {8}, bytes}}); }),
              HasSubstr("reserved"));
  EXPECT_THAT(error_of([&] { write_safetensors(path, {{"x", DType::U8, {-8}, bytes}}); }),
              HasSubstr("dimensions must be >= 0"));
  EXPECT_THAT(error_of([&] { write_safetensors(path, {{"\xff", DType::U8, {8}, bytes}}); }),
              HasSubstr("not valid UTF-8"));
  EXPECT_THAT(error_of([&] { write_safetensors(path, {}, {{"k", "\xc3"}}); }),
              HasSubstr("valid UTF-8"));
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir.path()),
                          std::filesystem::directory_iterator()),
            0);
}

}  // namespace
}  // namespace embedtune::io
