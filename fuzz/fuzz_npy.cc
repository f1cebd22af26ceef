// Fuzz target: io::read_npy on arbitrary bytes.
#include "fuzz_support.h"
#include "io/npy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace embedtune;
  const auto path = fuzz::write_input("array.npy", fuzz::as_text(data, size));
  fuzz::run_reader(
      [&] {
        const io::NpyArray array = io::read_npy(path);
        size_t count = 1;
        for (int64_t dim : array.shape) count *= static_cast<size_t>(dim);
        const size_t item = array.descr == "<f8" || array.descr == "<i8"   ? 8
                            : array.descr == "<f4" || array.descr == "<i4" ? 4
                            : array.descr == "<f2"                         ? 2
                                                                           : 1;
        fuzz::require(array.bytes.size() == count * item, "bytes = product(shape) x item size");
      },
      {path});
  return 0;
}
