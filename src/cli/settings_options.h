// Command-line options from a settings list (io/settings.h): one --key-with-dashes option per
// field, its value converted by io::assign_setting, so a bad value reads the same on a command
// line as in a recipe ("--dims: expected a list of integers, found 'abc'; fix the value").
#pragma once

#include <CLI/CLI.hpp>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "io/settings.h"

namespace embedtune::cli {

// Adds --KEY (dashes for underscores) for `field`: a flag for a bool, else an option taking one
// value (a list as "a,b,c"). The help shows the field's current value as the default, as it
// would be typed. With `python_spelling`, --key_as_written comes first (sentence-transformers'
// parameter name) and the dashed form is its alias.
template <class T>
CLI::Option* add_setting_option(CLI::App& command, std::string_view key, T& field,
                                std::string_view help, bool python_spelling = false) {
  const std::string dashed = io::setting_display_name("--", key);
  const std::string name = python_spelling ? "--" + std::string(key) : dashed;
  const std::string flag = name == dashed ? name : name + "," + dashed;
  if constexpr (std::is_same_v<T, bool>) {
    return command.add_flag(flag, field, std::string(help));
  } else {
    CLI::Option* option = command.add_option_function<std::string>(
        flag,
        [&field, name](const std::string& text) {
          io::assign_setting(field, io::raw_from_text(text), "command line", name);
        },
        std::string(help));
    const std::string current = io::setting_argument_text(field);
    if (!current.empty()) option->default_str(current);
    // LIST in --help, and for parse_error_message: "--dims 64 32" is a list written as two.
    option->type_name(std::is_same_v<T, std::string>  ? "TEXT"
                      : io::is_list_setting<T>::value ? "LIST"
                                                      : "VALUE");
    return option;
  }
}

// add_setting_option for every field of `settings` whose key is not in `skip`.
template <class S>
void add_setting_options(CLI::App& command, S& settings, const std::set<std::string>& skip = {},
                         bool python_spelling = false) {
  S::for_each(settings, [&](auto& field, std::string_view key, const auto&, std::string_view help) {
    if (skip.count(std::string(key)) == 0)
      add_setting_option(command, key, field, help, python_spelling);
  });
}

}  // namespace embedtune::cli
