// libFuzzer target: the config loader (config/loader.h) on arbitrary YAML:
// a config or a list of errors, never a crash or an exception.
#include <cstdint>
#include <string>

#include "config/loader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  (void)ringwatch::config::LoadConfigString(text, "fuzz.yaml", "/nonexistent");
  return 0;
}
