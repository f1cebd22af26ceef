// Fuzz target: io::SafetensorsFile::open on arbitrary bytes, then every tensor's bytes read.
#include "fuzz_support.h"
#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace embedtune;
  const auto path = fuzz::write_input("model.safetensors", fuzz::as_text(data, size));
  fuzz::run_reader(
      [&] {
        const io::SafetensorsFile file = io::SafetensorsFile::open(path);
        unsigned checksum = 0;
        for (const io::TensorInfo& info : file.tensors()) {
          fuzz::require(file.find(info.name) == &info, "find(name) returns that tensor");
          const auto bytes = file.data(info);
          fuzz::require(bytes.size() == info.end - info.begin, "data() spans data_offsets");
          // Every byte, so that an offset past the mapping is a sanitizer report, not a pass.
          for (std::byte b : bytes) checksum += static_cast<unsigned>(b);
        }
        volatile unsigned sink = checksum;
        (void)sink;
      },
      {path});
  return 0;
}
