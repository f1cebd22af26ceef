// How a command plugs into the `embedtune` executable: each src/cli/<command>.cc defines one
// registration function and a static `Register` that adds it to the list main() walks.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace embedtune::cli {

// Adds the subcommand to `app`: its flags and a callback that does the work. The callback throws
// embedtune::Error for bad input; main() prints it as one line and exits 1.
using AddCommand = std::function<void(CLI::App& app)>;

struct Command {
  std::string name;
  AddCommand add;
};

std::vector<Command>& commands();

struct Register {
  Register(std::string name, AddCommand add) {
    commands().push_back({std::move(name), std::move(add)});
  }
};

}  // namespace embedtune::cli
