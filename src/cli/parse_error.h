// Command-line mistakes that CLI11 reports in its own words ("The following arguments were not
// expected: 64 --dim", "At Most 1 required but received 2"), said as every other embedtune error
// is: what was expected, what was found, and what to do.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace embedtune::cli {

// The one-line message for `error`, thrown while `app` parsed the command line: an unknown
// command or option with the nearest valid one, an unexpected argument, an option given twice or
// without its value. Other errors keep CLI11's text. Ends with where to look
// ("; see 'embedtune evaluate --help'").
// `args` is the command line after the program name (to see what a stray argument follows).
std::string parse_error_message(const CLI::App& app, const CLI::ParseError& error,
                                const std::vector<std::string>& args = {});

}  // namespace embedtune::cli
