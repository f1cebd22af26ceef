// TORCH_VERSION ("2.13.0"), from wherever this LibTorch keeps it: torch/version.h up to 2.8,
// torch/headeronly/version.h since.
#pragma once

#if __has_include(<torch/headeronly/version.h>)
#include <torch/headeronly/version.h>
#else
#include <torch/version.h>
#endif
