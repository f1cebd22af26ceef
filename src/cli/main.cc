// The `embedtune` executable: one subcommand per src/cli/<command>.cc, errors as one line.
#include <ATen/Context.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/parse_error.h"
#include "io/error.h"
#include "model/libtorch_version.h"

namespace embedtune::cli {

std::vector<Command>& commands() {
  static std::vector<Command> list;
  return list;
}

}  // namespace embedtune::cli

#ifdef EMBEDTUNE_WITH_JEMALLOC
// Read by jemalloc when it starts (MALLOC_CONF in the environment still overrides it): keep freed
// pages for reuse instead of handing them back to the OS after a delay. Training allocates the
// same sizes again every step; faulting them back in made it a third slower.
extern "C" const char* malloc_conf = "dirty_decay_ms:-1,muzzy_decay_ms:-1";
#endif

int main(int argc, char** argv) {
  CLI::App app{
      "embedtune: fine-tune text-embedding models for retrieval with Matryoshka representation "
      "learning, natively on LibTorch."};
  app.require_subcommand(1);
  app.set_version_flag("--version", [] {
    // What this build runs on: the LibTorch it links and whether it can reach a CUDA device.
    return fmt::format("embedtune 0.1.0 (LibTorch {}; {})", TORCH_VERSION,
                       at::hasCUDA() ? fmt::format("CUDA, {} device(s)", at::getNumGPUs())
                                     : std::string("no CUDA device"));
  });
  for (auto& command : embedtune::cli::commands()) command.add(app);
  // `embedtune help [COMMAND]`, as git and cargo take it: the same as `[COMMAND] --help`.
  std::vector<std::string> args(argv + 1, argv + argc);
  if (!args.empty() && args.front() == "help" && args.size() <= 2) {
    args.erase(args.begin());
    const auto& known = embedtune::cli::commands();
    // `help evaulate` is reported as the unknown command it names.
    if (args.empty() || std::any_of(known.begin(), known.end(), [&](const auto& command) {
          return command.name == args.front();
        })) {
      args.push_back("--help");
    }
  }
  try {
    app.name(argv[0]);  // for "Usage: ...", as parse(argc, argv) names it
    app.parse(std::vector<std::string>(args.rbegin(), args.rend()));  // CLI11 takes them reversed
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
    // One line, like every other error, with where to look.
    std::cerr << "embedtune: error: " << embedtune::cli::parse_error_message(app, e, args) << "\n";
    return 2;
  } catch (const embedtune::Error& e) {
    std::cerr << "embedtune: error: " << e.what() << "\n";
    return 1;
  } catch (const c10::Error& e) {
    std::cerr << "embedtune: error: " << e.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::filesystem::filesystem_error& e) {
    // libstdc++: "filesystem error: cannot create directories: Not a directory [d.csv]"; said as
    // every other error is, the path first.
    std::string what = e.what();
    if (const auto at = what.find(" ["); at != std::string::npos) what.erase(at);
    if (what.starts_with("filesystem error: ")) what.erase(0, 18);
    std::cerr << "embedtune: error: " << (e.path1().empty() ? "" : e.path1().string() + ": ")
              << what << "; check the path, and that its folder exists and is writable\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "embedtune: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
