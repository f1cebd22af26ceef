// Settings values: text and YAML in, text and YAML out, the same rules for every settings list.
#include "io/settings.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <set>
#include <type_traits>

#include "io/error.h"
#include "io/file.h"
#include "io/utf8.h"

namespace embedtune::io {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view text) {
  size_t b = 0, e = text.size();
  while (b < e && std::isspace(static_cast<unsigned char>(text[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(text[e - 1]))) --e;
  return std::string(text.substr(b, e - b));
}

std::optional<int64_t> parse_int(std::string_view text) {
  int64_t value = 0;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  if (begin != end && *begin == '+') ++begin;
  auto [ptr, ec] = std::from_chars(begin, end, value);
  if (ec != std::errc() || ptr != end || begin == end) return std::nullopt;
  return value;
}

std::optional<double> parse_double(std::string_view text) {
  const std::string s(text);
  if (s.empty()) return std::nullopt;
  char* end = nullptr;
  const double value = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::optional<bool> parse_bool(std::string_view text) {
  const std::string s = lower(trim(text));
  if (s == "true" || s == "yes" || s == "on" || s == "1") return true;
  if (s == "false" || s == "no" || s == "off" || s == "0") return false;
  return std::nullopt;
}

std::string describe(const RawSetting& raw) {
  if (raw.is_null) return "null";
  if (!raw.is_list) return fmt::format("'{}'", raw.scalar);
  return fmt::format("[{}]", fmt::join(raw.items, ", "));
}

template <class T>
[[noreturn]] void bad_value(std::string_view where, std::string_view key, const T& field,
                            const RawSetting& raw) {
  fail("{}: {}: expected {}, found {}; fix the value", where, key, setting_type_name(field),
       describe(raw));
}

// The items of a list value: a YAML list, or "a,b,c" / "[a, b, c]" written as one scalar.
std::vector<std::string> list_items(const RawSetting& raw) {
  if (raw.is_list) return raw.items;
  std::vector<std::string> items;
  if (raw.is_null) return items;
  std::string text = trim(raw.scalar);
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']')
    text = text.substr(1, text.size() - 2);
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    const std::string item = trim(std::string_view(text).substr(start, end - start));
    if (!item.empty()) items.push_back(item);
    start = end + 1;
  }
  return items;
}

template <class T, class Parse>
void assign_scalar(T& field, const RawSetting& raw, std::string_view where, std::string_view key,
                   Parse parse) {
  if (raw.is_list || raw.is_null) bad_value(where, key, field, raw);
  const std::optional<T> value = parse(trim(raw.scalar));
  if (!value) bad_value(where, key, field, raw);
  field = *value;
}

template <class T, class Parse>
void assign_list(std::vector<T>& field, const RawSetting& raw, std::string_view where,
                 std::string_view key, Parse parse) {
  std::vector<T> values;
  for (const std::string& item : list_items(raw)) {
    const std::optional<T> value = parse(trim(item));
    if (!value) bad_value(where, key, field, raw);
    values.push_back(*value);
  }
  field = std::move(values);
}

std::string format_double(double value) {
  // Shortest text that reads back to the same double, in Python's style ("2e-05", "3.0").
  std::string text = fmt::format("{}", value);
  if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
  return text;
}

size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// A key's lower-cased parts between '_', '-' and '.', and before each capital letter:
// "training.num_train_epochs" -> training, num, train, epochs; "CachedMNRL" -> cached, m, n, r,
// l. Empty parts are dropped.
std::vector<std::string> key_parts(std::string_view key) {
  std::vector<std::string> parts(1);
  for (char c : key) {
    const bool capital = std::isupper(static_cast<unsigned char>(c)) != 0;
    if (c == '_' || c == '-' || c == '.' || capital) {
      if (!parts.back().empty()) parts.emplace_back();
    }
    if (c != '_' && c != '-' && c != '.') {
      parts.back() += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  if (parts.back().empty()) parts.pop_back();
  return parts;
}

// Whether `candidate`'s parts hold `word`'s in order, each word part the start of one candidate
// part ("seq" of "seq", "len" of "length") or the initials of a run of them ("lr" of "learning",
// "rate"); if so, how many candidate parts no word part took.
std::optional<size_t> parts_left_over(const std::vector<std::string>& word,
                                      const std::vector<std::string>& candidate) {
  size_t next = 0, taken = 0;
  for (const std::string& part : word) {
    bool found = false;
    for (size_t k = next; k < candidate.size() && !found; ++k) {
      if (candidate[k].starts_with(part)) {
        next = k + 1;
        taken += 1;
        found = true;
      } else if (part.size() >= 2 && k + part.size() <= candidate.size()) {
        size_t i = 0;
        while (i < part.size() && candidate[k + i].front() == part[i]) ++i;
        if (i == part.size()) {
          next = k + part.size();
          taken += part.size();
          found = true;
        }
      }
    }
    if (!found) return std::nullopt;
  }
  return candidate.size() - taken;
}

template <class T>
void emit_list(YAML::Emitter& out, const std::vector<T>& values) {
  out << YAML::Flow << YAML::BeginSeq;
  for (const T& v : values) emit_setting(out, v);
  out << YAML::EndSeq;
}

}  // namespace

RawSetting raw_from_text(std::string_view text) {
  RawSetting raw;
  raw.scalar = std::string(text);
  return raw;
}

RawSetting raw_from_yaml(const YAML::Node& node, std::string_view where, std::string_view key) {
  RawSetting raw;
  if (node.IsNull()) {
    raw.is_null = true;
  } else if (node.IsScalar()) {
    raw.scalar = node.Scalar();
  } else if (node.IsSequence()) {
    raw.is_list = true;
    for (const YAML::Node& item : node) {
      if (!item.IsScalar())
        fail("{}: {}: expected a flat list, found a nested value; fix the value", where, key);
      raw.items.push_back(item.Scalar());
    }
  } else {
    fail("{}: {}: expected a value, found a mapping; fix the indentation", where, key);
  }
  return raw;
}

void assign_setting(std::string& field, const RawSetting& raw, std::string_view where,
                    std::string_view key) {
  if (raw.is_list) bad_value(where, key, field, raw);
  field = raw.is_null ? std::string() : raw.scalar;
}

void assign_setting(int64_t& field, const RawSetting& raw, std::string_view where,
                    std::string_view key) {
  assign_scalar(field, raw, where, key, parse_int);
}

void assign_setting(double& field, const RawSetting& raw, std::string_view where,
                    std::string_view key) {
  assign_scalar(field, raw, where, key, parse_double);
}

void assign_setting(bool& field, const RawSetting& raw, std::string_view where,
                    std::string_view key) {
  assign_scalar(field, raw, where, key, parse_bool);
}

void assign_setting(std::optional<bool>& field, const RawSetting& raw, std::string_view where,
                    std::string_view key) {
  if (raw.is_list) bad_value(where, key, field, raw);
  const std::string text = lower(trim(raw.scalar));
  if (raw.is_null || text == "null" || text == "auto" || text == "~") {
    field.reset();
    return;
  }
  const auto value = parse_bool(text);
  if (!value) bad_value(where, key, field, raw);
  field = *value;
}

template <class T, class Parse>
void assign_optional(std::optional<T>& field, const RawSetting& raw, std::string_view where,
                     std::string_view key, Parse parse) {
  if (raw.is_list) bad_value(where, key, field, raw);
  const std::string text = lower(trim(raw.scalar));
  if (raw.is_null || text == "null" || text == "none" || text == "~") {
    field.reset();
    return;
  }
  const std::optional<T> value = parse(text);
  if (!value) bad_value(where, key, field, raw);
  field = *value;
}

void assign_setting(std::optional<int64_t>& field, const RawSetting& raw, std::string_view where,
                    std::string_view key) {
  assign_optional(field, raw, where, key, parse_int);
}

void assign_setting(std::optional<double>& field, const RawSetting& raw, std::string_view where,
                    std::string_view key) {
  assign_optional(field, raw, where, key, parse_double);
}

void assign_setting(std::vector<int64_t>& field, const RawSetting& raw, std::string_view where,
                    std::string_view key) {
  assign_list(field, raw, where, key, parse_int);
}

void assign_setting(std::vector<double>& field, const RawSetting& raw, std::string_view where,
                    std::string_view key) {
  assign_list(field, raw, where, key, parse_double);
}

void assign_setting(std::vector<std::string>& field, const RawSetting& raw, std::string_view,
                    std::string_view) {
  // YAML list items are taken as written (a comma inside one is part of the text).
  field = list_items(raw);
}

std::string setting_text(const std::string& value) { return value; }
std::string setting_text(int64_t value) { return std::to_string(value); }
std::string setting_text(double value) { return format_double(value); }
std::string setting_text(bool value) { return value ? "true" : "false"; }
std::string setting_text(const std::optional<bool>& value) {
  return value ? setting_text(*value) : "null";
}
std::string setting_text(const std::optional<int64_t>& value) {
  return value ? setting_text(*value) : "null";
}
std::string setting_text(const std::optional<double>& value) {
  return value ? setting_text(*value) : "null";
}
std::string setting_text(const std::vector<int64_t>& value) {
  return fmt::format("[{}]", fmt::join(value, ", "));
}
std::string setting_text(const std::vector<double>& value) {
  std::vector<std::string> items;
  for (double v : value) items.push_back(format_double(v));
  return fmt::format("[{}]", fmt::join(items, ", "));
}
std::string setting_text(const std::vector<std::string>& value) {
  return fmt::format("[{}]", fmt::join(value, ", "));
}

void emit_setting(YAML::Emitter& out, const std::string& value) {
  out << YAML::DoubleQuoted << value;
}
void emit_setting(YAML::Emitter& out, int64_t value) { out << value; }
void emit_setting(YAML::Emitter& out, double value) { out << format_double(value); }
void emit_setting(YAML::Emitter& out, bool value) { out << (value ? "true" : "false"); }
void emit_setting(YAML::Emitter& out, const std::optional<bool>& value) {
  if (value) {
    emit_setting(out, *value);
  } else {
    out << YAML::Null;
  }
}
void emit_setting(YAML::Emitter& out, const std::optional<int64_t>& value) {
  if (value) {
    emit_setting(out, *value);
  } else {
    out << YAML::Null;
  }
}
void emit_setting(YAML::Emitter& out, const std::optional<double>& value) {
  if (value) {
    emit_setting(out, *value);
  } else {
    out << YAML::Null;
  }
}
void emit_setting(YAML::Emitter& out, const std::vector<int64_t>& value) { emit_list(out, value); }
void emit_setting(YAML::Emitter& out, const std::vector<double>& value) { emit_list(out, value); }
void emit_setting(YAML::Emitter& out, const std::vector<std::string>& value) {
  emit_list(out, value);
}

std::string setting_type_name(const std::string&) { return "a string"; }
std::string setting_type_name(int64_t) { return "an integer"; }
std::string setting_type_name(double) { return "a number"; }
std::string setting_type_name(bool) { return "true or false"; }
std::string setting_type_name(const std::optional<bool>&) { return "true, false or null"; }
std::string setting_type_name(const std::optional<int64_t>&) { return "an integer or null"; }
std::string setting_type_name(const std::optional<double>&) { return "a number or null"; }
std::string setting_type_name(const std::vector<int64_t>&) { return "a list of integers"; }
std::string setting_type_name(const std::vector<double>&) { return "a list of numbers"; }
std::string setting_type_name(const std::vector<std::string>&) { return "a list of strings"; }

void read_yaml_settings(const std::filesystem::path& path, const std::vector<std::string>& keys,
                        const SettingSink& set) {
  const std::string text = read_file(path);
  // YAML is Unicode; yaml-cpp would pass other bytes through into the values (a recipe's name
  // in report.html, a model card), so they stop here.
  if (const std::optional<std::size_t> bad = find_invalid_utf8(text)) {
    const auto line =
        1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(*bad), '\n');
    fail("{}:{}: expected UTF-8 text, found the byte 0x{:02X}; save the file as UTF-8",
         path.string(), line, static_cast<unsigned char>(text[*bad]));
  }
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    // yaml-cpp quotes the offending character raw ("unknown escape character: " + c); Error
    // writes a control character there as \xNN, so the message stays one line.
    fail("{}:{}: invalid YAML: {}; fix the syntax", path.string(), e.mark.line + 1, e.msg);
  }
  if (root.IsNull()) return;
  if (!root.IsMap()) {
    fail(
        "{}:{}: expected a mapping of settings (key: value lines), found a {}; see recipes/ for "
        "examples",
        path.string(), root.Mark().line + 1, root.IsSequence() ? "list" : "single value");
  }
  const std::set<std::string> valid(keys.begin(), keys.end());
  std::set<std::string> sections;
  for (const std::string& key : keys) {
    if (const size_t dot = key.find('.'); dot != std::string::npos)
      sections.insert(key.substr(0, dot));
  }
  std::set<std::string> seen;
  auto walk = [&](auto& self, const YAML::Node& map, const std::string& prefix) -> void {
    for (const auto& entry : map) {
      const std::string where = fmt::format("{}:{}", path.string(), entry.first.Mark().line + 1);
      if (!entry.first.IsScalar() || entry.first.Scalar().empty())
        fail("{}: expected a key name, found {}; fix the key", where,
             entry.first.IsScalar() ? "an empty key" : "a complex key");
      const std::string key = prefix + normalize_setting_key(entry.first.Scalar());
      if (!seen.insert(key).second) fail("{}: key '{}' is given twice; keep one", where, key);
      if (prefix.empty() && sections.count(key) != 0) {
        if (entry.second.IsNull()) continue;  // "training:" with nothing under it
        if (!entry.second.IsMap()) {
          fail("{}: {}: expected a mapping of {} settings, found a {}; indent its keys under it",
               where, key, key, entry.second.IsSequence() ? "list" : "single value");
        }
        self(self, entry.second, key + ".");
        continue;
      }
      if (valid.count(key) == 0) {
        fail("{}: unknown key '{}'{}", where, key, did_you_mean(key, keys));
      }
      set(key, raw_from_yaml(entry.second, where, key), where);
    }
  };
  try {
    walk(walk, root, "");
  } catch (const YAML::Exception& e) {
    fail("{}:{}: {}", path.string(), e.mark.line + 1, e.msg);
  }
}

YamlSettingsWriter::YamlSettingsWriter() : out_(std::make_unique<YAML::Emitter>()) {
  *out_ << YAML::BeginMap;
}

YamlSettingsWriter::~YamlSettingsWriter() = default;

void YamlSettingsWriter::open_key(std::string_view key) {
  const size_t dot = key.find('.');
  const std::string section = dot == std::string_view::npos ? "" : std::string(key.substr(0, dot));
  if (section != section_) {
    if (!section_.empty()) *out_ << YAML::EndMap;
    if (!section.empty()) *out_ << YAML::Key << section << YAML::Value << YAML::BeginMap;
    section_ = section;
  }
  *out_ << YAML::Key << std::string(dot == std::string_view::npos ? key : key.substr(dot + 1))
        << YAML::Value;
}

std::string YamlSettingsWriter::finish() {
  if (!section_.empty()) *out_ << YAML::EndMap;
  section_.clear();
  *out_ << YAML::EndMap;
  return std::string(out_->c_str()) + "\n";
}

std::string setting_display_name(std::string_view prefix, std::string_view key) {
  std::string name = std::string(prefix) + std::string(key);
  if (prefix == "--") std::replace(name.begin() + 2, name.end(), '_', '-');
  return name;
}

std::string setting_request(std::string_view prefix, std::string_view key, std::string_view value) {
  const std::string name = setting_display_name(prefix, key);
  if (prefix == "--")
    return value.empty() ? "pass " + name : fmt::format("pass {} {}", name, value);
  return fmt::format("set {}: {}", name, value.empty() ? std::string_view("true") : value);
}

std::string normalize_setting_key(std::string_view key) {
  std::string out(key);
  std::replace(out.begin(), out.end(), '-', '_');
  return out;
}

std::string nearest_key(std::string_view word, const std::vector<std::string>& candidates) {
  if (word == "gpu" && std::find(candidates.begin(), candidates.end(), "cuda") != candidates.end())
    return "cuda";
  // First choice: a candidate whose parts hold the word's in order ("epochs" -> num_train_epochs,
  // "lr" -> learning_rate); one with no part left over, else the first listed (lists put the
  // common keys first: "batch_size" means per_device_train_batch_size more often than
  // mini_batch_size). Otherwise the nearest by edit distance, which catches typos within a part.
  const std::vector<std::string> word_parts = key_parts(word);
  const std::string* part_match = nullptr;
  for (const std::string& candidate : candidates) {
    if (word_parts.empty()) break;
    const std::optional<size_t> left_over = parts_left_over(word_parts, key_parts(candidate));
    if (left_over && *left_over == 0) return candidate;
    if (left_over && !part_match) part_match = &candidate;
  }
  if (part_match) return *part_match;
  std::string best;
  size_t best_distance = SIZE_MAX;
  for (const std::string& candidate : candidates) {
    const size_t d = edit_distance(word, candidate);
    if (d < best_distance) {
      best_distance = d;
      best = candidate;
    }
  }
  // Beyond a typo's few edits the nearest is noise ("poly" is not "cosine"): suggest nothing.
  return best_distance <= std::max<size_t>(2, word.size() / 3) ? best : std::string();
}

std::string one_value_message(std::string_view flag, std::string_view first,
                              std::string_view second, bool is_list) {
  if (is_list) {
    return fmt::format(
        "{} takes one value, found '{}' and then '{}'; write the list with commas: {} {},{}", flag,
        first, second, flag, first, second);
  }
  return fmt::format(
      "{} takes one value, found '{}' and then '{}'; give one, and quote a value with spaces", flag,
      first, second);
}

std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates) {
  const std::string nearest = nearest_key(word, candidates);
  return nearest.empty() ? std::string() : fmt::format("; did you mean '{}'?", nearest);
}

}  // namespace embedtune::io
