// Command-line mistakes in embedtune's words (see parse_error.h).
#include "cli/parse_error.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <regex>
#include <vector>

#include "io/settings.h"

namespace embedtune::cli {
namespace {

// "--dims" for every long name of `app`'s options ("dims", "batch-size", ...).
std::vector<std::string> long_option_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::Option* option : app.get_options()) {
    for (const std::string& name : option->get_lnames()) names.push_back(name);
  }
  return names;
}

// The option of `command` that `word` ("--dims") names; nullptr for none.
const CLI::Option* long_option(const CLI::App& command, const std::string& word) {
  if (!word.starts_with("--")) return nullptr;
  for (const CLI::Option* option : command.get_options()) {
    const auto& names = option->get_lnames();
    if (std::find(names.begin(), names.end(), word.substr(2)) != names.end()) return option;
  }
  return nullptr;
}

// " (did you mean --dims?)" for the candidate nearest `word`, as `shown` writes it; "" for none.
std::string suggestion(const std::string& word, const std::vector<std::string>& candidates,
                       std::string_view shown) {
  const std::string nearest = io::nearest_key(word, candidates);
  if (nearest.empty()) return {};
  return fmt::format(" (did you mean {}?)", fmt::format(fmt::runtime(shown), nearest));
}

// What the first left-over argument of `command` was: an unknown option or a stray value.
// Arguments after a bare "--" are left over in `app`, the top level, and are never options.
std::string explain_extras(const CLI::App& app, const CLI::App& command,
                           const std::vector<std::string>& args) {
  std::vector<std::string> extras = command.remaining();
  const bool after_separator = extras.empty();
  if (after_separator) extras = app.remaining();
  const std::string name = command.get_name();
  for (const std::string& extra : extras) {
    if (after_separator || extra.size() < 2 || extra[0] != '-' ||
        extra.find_first_not_of('-') == std::string::npos) {
      continue;
    }
    // "--dim=64" and "--dim 64" both name "--dim".
    const std::string option = extra.substr(0, extra.find('='));
    const std::string word = option.substr(option.find_first_not_of('-'));
    return fmt::format("{}: unknown option {}{}", name, option,
                       suggestion(word, long_option_names(command), "--{}"));
  }
  if (extras.empty()) return {};
  // What the stray argument follows, when it appears once on the command line.
  const std::string& stray = extras.front();
  const auto at = std::find(args.begin(), args.end(), stray);
  if (!after_separator && std::count(args.begin(), args.end(), stray) == 1) {
    const std::ptrdiff_t index = at - args.begin();
    // "--private yes": a switch takes no value.
    if (const CLI::Option* option = index >= 1 ? long_option(command, args[index - 1]) : nullptr;
        option != nullptr && option->get_items_expected_max() == 0) {
      return fmt::format(
          "{}: {} is a switch and takes no value, found '{}' after it; give {} alone to turn it "
          "on, or leave it out",
          name, args[index - 1], stray, args[index - 1]);
    }
    // "--dims 64 32": a list is one value, with commas.
    if (const CLI::Option* option = index >= 2 ? long_option(command, args[index - 2]) : nullptr;
        option != nullptr && option->get_items_expected_max() == 1) {
      return fmt::format("{}: {}", name,
                         io::one_value_message(args[index - 2], args[index - 1], stray,
                                               option->get_type_name() == "LIST"));
    }
  }
  return fmt::format(
      "{}: expected options (--name value), found the stray argument{} '{}'; put a value after "
      "its option, and quote values with spaces",
      name, extras.size() > 1 ? "s" : "", fmt::join(extras, "' '"));
}

}  // namespace

std::string parse_error_message(const CLI::App& app, const CLI::ParseError& error,
                                const std::vector<std::string>& args) {
  const auto parsed = app.get_subcommands();
  const CLI::App* command = parsed.empty() ? nullptr : parsed.front();
  const std::string help =
      command ? fmt::format("embedtune {} --help", command->get_name()) : "embedtune --help";
  std::string message = error.what();

  if (!command) {
    // No command was recognised: the first word is a mistyped one, or there is none.
    const std::vector<std::string> words = app.remaining();
    std::vector<std::string> names;
    for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
      names.push_back(sub->get_name());
    }
    if (!words.empty() && !words.front().starts_with("-")) {
      message = fmt::format("unknown command '{}'{}", words.front(),
                            suggestion(words.front(), names, "'{}'"));
    } else if (dynamic_cast<const CLI::RequiredError*>(&error)) {
      message = fmt::format("expected a command ({}), found {}", fmt::join(names, ", "),
                            words.empty() ? "none" : "the option " + words.front());
    }
  } else if (dynamic_cast<const CLI::ExtrasError*>(&error)) {
    if (std::string explained = explain_extras(app, *command, args); !explained.empty()) {
      message = std::move(explained);
    }
  } else if (dynamic_cast<const CLI::RequiredError*>(&error)) {
    // "embedtune info MODEL": the value is there, without its option. CLI11 checks what is
    // required before it reports the stray argument, so say both.
    std::smatch match;
    const std::vector<std::string> extras = command->remaining();
    if (std::regex_match(message, match, std::regex(R"((--\S+) is required)")) &&
        extras.size() == 1 && !extras.front().starts_with("-")) {
      message = fmt::format("{}: expected {} VALUE, found the stray argument '{}'; write {} {}",
                            command->get_name(), match[1].str(), extras.front(), match[1].str(),
                            extras.front());
    }
  } else if (dynamic_cast<const CLI::ValidationError*>(&error)) {
    // CLI::IsMember: "--device: gpu not in {cpu,cuda}".
    std::smatch match;
    if (std::regex_match(message, match, std::regex(R"((\S+): (.*) not in \{(.*)\})"))) {
      std::vector<std::string> choices;  // "cpu,cuda", read as any list setting is
      io::assign_setting(choices, io::raw_from_text(match[3].str()), "", "");
      const std::string found = match[2].str();
      std::string listed = choices.front();
      for (std::size_t i = 1; i < choices.size(); ++i)
        listed += (i + 1 == choices.size() ? " or " : ", ") + choices[i];
      message = fmt::format("{}: expected {}, found '{}'{}", match[1].str(), listed, found,
                            suggestion(found, choices, "'{}'"));
    }
  } else if (dynamic_cast<const CLI::ArgumentMismatch*>(&error)) {
    // CLI11 2.x: "NAME: At Most 1 required but received 2", "NAME: 1 required TYPE missing".
    std::smatch match;
    if (std::regex_match(message, match,
                         std::regex(R"((\S+): At Most 1 required but received (\d+))"))) {
      message = fmt::format("{}: expected it once, found it {} times; give it once", match[1].str(),
                            match[2].str());
    } else if (std::regex_match(message, match, std::regex(R"((\S+): \d+ required \S+ missing)"))) {
      message = fmt::format("{}: expected a value after it, found none", match[1].str());
    }
  }
  return fmt::format("{}; see '{}'", message, help);
}

}  // namespace embedtune::cli
