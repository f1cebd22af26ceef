// Fuzz target: pipeline::Recipe::load on a YAML recipe (parsing, every key's value rules, the
// derived-key and unknown-key checks), then to_yaml() and load() again, which must give the same
// recipe. validate() (which loads models and checks files) is not part of reading.
#include "fuzz_support.h"
#include "io/settings.h"
#include "pipeline/recipe.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace embedtune;
  const auto path = fuzz::write_input("recipe.yaml", fuzz::as_text(data, size));
  fuzz::run_reader(
      [&] {
        const pipeline::Recipe recipe = pipeline::Recipe::load(path);
        const auto again = fuzz::write_input("again.yaml", recipe.to_yaml());
        fuzz::require(
            io::setting_values(pipeline::Recipe::load(again)) == io::setting_values(recipe),
            "to_yaml() loads back to the same recipe");
      },
      {path});
  return 0;
}
