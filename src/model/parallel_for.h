// at::parallel_for, with a build check that it can run on more than one thread.
#pragma once

#include <ATen/Parallel.h>

// With LibTorch's OpenMP backend (the pip wheels', CPU and CUDA), at::parallel_for is a header
// template that forks only where the including file is compiled with -fopenmp; elsewhere it runs
// the whole range on the calling thread and says nothing. CMakeLists.txt links the LibTorch layers
// with OpenMP::OpenMP_CXX: this stops a build that lost the flag. (Where the compiler has no
// OpenMP, CMake says so and defines EMBEDTUNE_SERIAL_PARALLEL_FOR: that build runs serially.)
#if AT_PARALLEL_OPENMP && !defined(_OPENMP) && !defined(EMBEDTUNE_SERIAL_PARALLEL_FOR)
#error "at::parallel_for would run serially: compile embedtune's LibTorch layers with -fopenmp"
#endif
