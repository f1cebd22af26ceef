// Settings listed once: a struct whose static for_each(self, visit) calls
// visit(field, name, default, help) for every field is read from YAML and from command-line
// text, written back as YAML, and described for --help by the helpers here. TrainingArguments,
// the run recipe, prepare's and evaluate's settings all use them, so every value is spelled and
// checked the same way wherever it is written.
//
// Field types: std::string, int64_t, double, bool, std::optional of bool, int64_t or double (null:
// not set, as Python's None), and lists of int64_t, double or std::string.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace YAML {
class Node;
class Emitter;
}  // namespace YAML

namespace embedtune::io {

// Whether a setting's type is a list (written "768,512" on a command line).
template <class T>
struct is_list_setting : std::false_type {};
template <class T>
struct is_list_setting<std::vector<T>> : std::true_type {};

// A value as written in YAML or on a command line, before it has a type.
struct RawSetting {
  bool is_null = false;
  bool is_list = false;
  std::string scalar;              // when !is_list
  std::vector<std::string> items;  // when is_list
};

// A command-line value: one scalar ("3e-5", "yes", "768,512" or "[768, 512]" for a list).
RawSetting raw_from_text(std::string_view text);
// A YAML value: null, a scalar or a flat list. Throws Error "WHERE: KEY: expected ..." for a
// mapping or a nested list.
RawSetting raw_from_yaml(const YAML::Node& node, std::string_view where, std::string_view key);

// Converts `raw` into `field`. Booleans read true/false, yes/no, on/off, 1/0 (any case);
// optional<bool> also null/auto; lists read a YAML list or "a,b,c" / "[a, b, c]". Throws Error
// "WHERE: KEY: expected <type>, found <value>; fix the value".
void assign_setting(std::string& field, const RawSetting& raw, std::string_view where,
                    std::string_view key);
void assign_setting(int64_t& field, const RawSetting& raw, std::string_view where,
                    std::string_view key);
void assign_setting(double& field, const RawSetting& raw, std::string_view where,
                    std::string_view key);
void assign_setting(bool& field, const RawSetting& raw, std::string_view where,
                    std::string_view key);
void assign_setting(std::optional<bool>& field, const RawSetting& raw, std::string_view where,
                    std::string_view key);
// An optional number reads null, ~ or "none" (any case) as not set.
void assign_setting(std::optional<int64_t>& field, const RawSetting& raw, std::string_view where,
                    std::string_view key);
void assign_setting(std::optional<double>& field, const RawSetting& raw, std::string_view where,
                    std::string_view key);
void assign_setting(std::vector<int64_t>& field, const RawSetting& raw, std::string_view where,
                    std::string_view key);
void assign_setting(std::vector<double>& field, const RawSetting& raw, std::string_view where,
                    std::string_view key);
void assign_setting(std::vector<std::string>& field, const RawSetting& raw, std::string_view where,
                    std::string_view key);

// The value as text: strings as they are, numbers in their shortest exact form ("2e-05",
// "3.0"), booleans true/false, optional null, lists "[a, b]".
std::string setting_text(const std::string& value);
std::string setting_text(int64_t value);
std::string setting_text(double value);
std::string setting_text(bool value);
std::string setting_text(const std::optional<bool>& value);
std::string setting_text(const std::optional<int64_t>& value);
std::string setting_text(const std::optional<double>& value);
std::string setting_text(const std::vector<int64_t>& value);
std::string setting_text(const std::vector<double>& value);
std::string setting_text(const std::vector<std::string>& value);

// The value as it is typed after its command-line option: setting_text, but a list as "a,b"
// (empty for an empty list).
template <class T>
std::string setting_argument_text(const T& value) {
  if constexpr (is_list_setting<T>::value) {
    std::string text;
    for (size_t i = 0; i < value.size(); ++i) {
      text += (i == 0 ? "" : ",") + setting_text(value[i]);
    }
    return text;
  } else {
    return setting_text(value);
  }
}

// The value as a YAML node that reads back to the same value (strings double-quoted, lists in
// flow style).
void emit_setting(YAML::Emitter& out, const std::string& value);
void emit_setting(YAML::Emitter& out, int64_t value);
void emit_setting(YAML::Emitter& out, double value);
void emit_setting(YAML::Emitter& out, bool value);
void emit_setting(YAML::Emitter& out, const std::optional<bool>& value);
void emit_setting(YAML::Emitter& out, const std::optional<int64_t>& value);
void emit_setting(YAML::Emitter& out, const std::optional<double>& value);
void emit_setting(YAML::Emitter& out, const std::vector<int64_t>& value);
void emit_setting(YAML::Emitter& out, const std::vector<double>& value);
void emit_setting(YAML::Emitter& out, const std::vector<std::string>& value);

// "true, false or null", "a list of integers", ... for messages.
std::string setting_type_name(const std::string&);
std::string setting_type_name(int64_t);
std::string setting_type_name(double);
std::string setting_type_name(bool);
std::string setting_type_name(const std::optional<bool>&);
std::string setting_type_name(const std::optional<int64_t>&);
std::string setting_type_name(const std::optional<double>&);
std::string setting_type_name(const std::vector<int64_t>&);
std::string setting_type_name(const std::vector<double>&);
std::string setting_type_name(const std::vector<std::string>&);

// How a key is named in messages: "--max-seq-length" for command-line flags (prefix "--"),
// else prefix + key ("data.test_size" for prefix "data.").
std::string setting_display_name(std::string_view prefix, std::string_view key);

// How a message asks the user to change a setting: "pass --anchor-column NAME" for command-line
// flags (prefix "--"; "pass --skip-invalid" for a flag, `value` empty), else "set
// data.anchor_column: NAME" ("set data.skip_invalid: true" for a flag).
std::string setting_request(std::string_view prefix, std::string_view key, std::string_view value);

// "max-seq-length" -> "max_seq_length": keys may be written with dashes.
std::string normalize_setting_key(std::string_view key);

// The entry of `candidates` a mistyped `word` most likely meant: one whose parts (split at '_',
// '-', '.' and capitals) hold the word's in order, each a part's start or a run of parts'
// initials ("epochs" -> num_train_epochs, "batch_size" -> per_device_train_batch_size, "lr" ->
// learning_rate, "CachedMNRL" -> CachedMultipleNegativesRankingLoss): one with no part left over,
// else the first listed; else the closest by edit distance (the first on a tie) when it is a
// likely typo (at most max(2, a third of the word's length) edits); else "" (nothing is near).
// "gpu" means "cuda" where that is a candidate (by edits it is nearer "cpu").
std::string nearest_key(std::string_view word, const std::vector<std::string>& candidates);

// "--dims takes one value, found '64' and then '32'; write the list with commas: --dims 64,32"
// (or, for a setting that is not a list, "...; give one, and quote a value with spaces").
std::string one_value_message(std::string_view flag, std::string_view first,
                              std::string_view second, bool is_list);

// "; did you mean 'KEY'?" with nearest_key's answer, or "" when nothing is near.
std::string did_you_mean(std::string_view word, const std::vector<std::string>& candidates);

// Reads the YAML mapping in `path` and calls set(key, value, where) for every value, where is
// "FILE:LINE". `keys` are the valid keys; "section.name" keys are read from a mapping
// "section". An empty file, or an empty section, sets nothing. Throws Error "FILE:LINE: ..."
// when the file cannot be read, is not YAML or not a mapping, a key is unknown (naming the
// nearest valid one), given twice, a section is not a mapping, or a mapping stands where a
// value belongs.
using SettingSink =
    std::function<void(const std::string& key, const RawSetting& value, const std::string& where)>;
void read_yaml_settings(const std::filesystem::path& path, const std::vector<std::string>& keys,
                        const SettingSink& set);

// Writes settings as YAML: keys "section.name" go into a mapping "section" (a section's keys
// must come together). What it writes reads back with read_yaml_settings to the same values.
class YamlSettingsWriter {
 public:
  YamlSettingsWriter();
  ~YamlSettingsWriter();
  YamlSettingsWriter(const YamlSettingsWriter&) = delete;
  YamlSettingsWriter& operator=(const YamlSettingsWriter&) = delete;

  template <class T>
  void add(std::string_view key, const T& value) {
    open_key(key);
    emit_setting(*out_, value);
  }
  // The document; call once, after the last add().
  std::string finish();

 private:
  void open_key(std::string_view key);

  std::unique_ptr<YAML::Emitter> out_;
  std::string section_;
};

// Every key of a settings struct S, in for_each order.
template <class S>
std::vector<std::string> setting_keys() {
  std::vector<std::string> keys;
  S probe{};
  S::for_each(probe, [&](auto&, std::string_view name, const auto&, std::string_view) {
    keys.emplace_back(name);
  });
  return keys;
}

// Sets the field `key` of `settings` from `raw`; returns false when S has no such key.
template <class S>
bool set_setting(S& settings, std::string_view key, const RawSetting& raw, std::string_view where) {
  bool found = false;
  S::for_each(settings, [&](auto& field, std::string_view name, const auto&, std::string_view) {
    if (!found && name == key) {
      assign_setting(field, raw, where, key);
      found = true;
    }
  });
  return found;
}

// (key, value as text) of every field, or of those that differ from their defaults.
template <class S>
std::vector<std::pair<std::string, std::string>> setting_values(const S& settings,
                                                                bool only_changed = false) {
  std::vector<std::pair<std::string, std::string>> out;
  S::for_each(settings, [&](const auto& field, std::string_view name, const auto& default_value,
                            std::string_view) {
    using T = std::decay_t<decltype(field)>;
    if (!only_changed || !(field == static_cast<T>(default_value)))
      out.emplace_back(std::string(name), setting_text(field));
  });
  return out;
}

// `settings` as YAML, every field (or only those that differ from their defaults).
template <class S>
std::string settings_to_yaml(const S& settings, bool only_changed = false) {
  YamlSettingsWriter writer;
  S::for_each(settings, [&](const auto& field, std::string_view name, const auto& default_value,
                            std::string_view) {
    using T = std::decay_t<decltype(field)>;
    if (!only_changed || !(field == static_cast<T>(default_value))) writer.add(name, field);
  });
  return writer.finish();
}

// Sets every field of `settings` to its default.
template <class S>
void reset_settings(S& settings) {
  S::for_each(settings, [](auto& field, std::string_view, const auto& default_value,
                           std::string_view) { field = default_value; });
}

}  // namespace embedtune::io
