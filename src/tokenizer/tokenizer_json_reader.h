// Internal to the tokenizer layer: the tokenizer.json reader's pieces, shared by
// tokenizer_json.cc (the file as `tokenizers` reads it) and transformers_classes.cc (the classes
// transformers rebuilds from it).
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "io/error.h"
#include "io/json.h"
#include "tokenizer/tokenizer_spec.h"

namespace embedtune::tokenizer_json {

using nlohmann::json;

inline constexpr int64_t kMaxId = 0x7FFFFFFF;

// Reader of one JSON value with its key path, so every error names file and key.
class Node {
 public:
  Node(const json& value, std::string path, const std::string& file)
      : value_(value), path_(std::move(path)), file_(file) {}

  const json& value() const { return value_; }
  const std::string& path() const { return path_; }
  const std::string& file() const { return file_; }
  bool has(const char* key) const {
    return value_.is_object() && value_.contains(key) && !value_.at(key).is_null();
  }

  Node at(const char* key) const {
    if (!value_.is_object() || !value_.contains(key)) {
      fail(
          "{}: key {:?} is missing; expected it in a Hugging Face tokenizer.json. Re-save the "
          "tokenizer with tokenizers or transformers.",
          file_, join(key));
    }
    return Node(value_.at(key), join(key), file_);
  }
  Node at(size_t index) const {
    if (!value_.is_array() || index >= value_.size()) {
      wrong(fmt::format("a list with at least {} items", index + 1).c_str());
    }
    return Node(value_.at(index), fmt::format("{}[{}]", path_, index), file_);
  }

  [[noreturn]] void wrong(const char* expected) const {
    fail("{}: key {:?} is {}; expected {}. Fix the file or re-save the tokenizer.", file_, path_,
         io::json_preview(value_), expected);
  }
  bool as_bool() const {
    if (!value_.is_boolean()) wrong("true or false");
    return value_.get<bool>();
  }
  std::optional<bool> as_optional_bool() const {
    if (value_.is_null()) return std::nullopt;
    return as_bool();
  }
  std::string as_string() const {
    if (!value_.is_string()) wrong("a string");
    return value_.get<std::string>();
  }
  double as_double() const {
    if (!value_.is_number()) wrong("a number");
    return value_.get<double>();
  }
  int64_t as_int(int64_t min, int64_t max) const {
    if (!value_.is_number_integer()) wrong("an integer");
    const int64_t v = value_.get<int64_t>();
    if (v < min || v > max) wrong(fmt::format("an integer in [{}, {}]", min, max).c_str());
    return v;
  }
  // An optional boolean field with its default.
  bool flag(const char* key, bool fallback) const {
    return has(key) ? at(key).as_bool() : fallback;
  }

 private:
  std::string join(const char* key) const { return path_.empty() ? key : path_ + "." + key; }

  const json& value_;
  std::string path_;
  const std::string& file_;
};

// An unsupported component or option: one line naming file, key, what was found and expected.
[[noreturn]] void unsupported(const Node& node, const std::string& found, const char* expected);

std::unique_ptr<Normalizer> read_normalizer_component(const Node& n);
std::unique_ptr<PreTokenizer> read_pre_tokenizer_component(const Node& n);
// The "model" section as a Model (WordPiece, Unigram, BPE).
std::shared_ptr<const Model> read_model_component(const Node& m);
// The decoded bytes of a precompiled_charsmap (base64).
std::string decode_base64(const Node& n);

}  // namespace embedtune::tokenizer_json
