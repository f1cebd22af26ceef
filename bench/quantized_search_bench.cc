// Exact top-100 search time per storage precision on stored .npy embeddings: float32 (GEMM on
// normalised rows, as the evaluator scores "cosine"), int8 (integer dot products) and binary
// (popcount over packed 64-bit words), each through the same chunked tie-aware top-k, plus the
// scoring kernel alone. One JSON line per precision; driven by bench/bench_quantized_search.py.
//
// Usage: embedtune_quantized_search_bench QUERIES.npy CORPUS.npy [--scalar]
// Each search runs twice; "seconds" is the second (warm) run, "first_run_seconds" the first.
// Preparing the corpus (normalising, quantizing) is timed apart, as building an index would be.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <string>

#include "evaluation/information_retrieval_evaluator.h"
#include "evaluation/quantization.h"
#include "io/npy.h"

namespace {

using embedtune::evaluation::IrEvaluatorConfig;
namespace ev = embedtune::evaluation;

at::Tensor load(const char* path) {
  const auto header = embedtune::io::read_npy_header(path);
  if (header.descr != "<f4" || header.shape.size() != 2)
    throw std::runtime_error(std::string(path) + ": expected 2-D <f4");
  at::Tensor out = at::empty(header.shape, at::kFloat);
  embedtune::io::read_npy_data(path, header, out.data_ptr<float>());
  return out;
}

double seconds_of(const std::function<void()>& f) {
  const auto start = std::chrono::steady_clock::now();
  f();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s QUERIES.npy CORPUS.npy [--scalar]\n", argv[0]);
    return 2;
  }
  try {
    if (argc > 3 && std::strcmp(argv[3], "--scalar") == 0) ev::force_scalar_kernels(true);
    const at::Tensor queries = load(argv[1]);
    const at::Tensor corpus = load(argv[2]);
    const int64_t n_q = queries.size(0), n_c = corpus.size(0), dims = corpus.size(1);
    std::vector<std::string> ids;
    for (int64_t i = 0; i < n_c; ++i) ids.push_back(std::to_string(i));
    const IrEvaluatorConfig defaults;
    const int64_t chunk = defaults.corpus_chunk_size;
    const int64_t q_chunk = n_q;  // all queries x one corpus chunk, as ST's evaluator
    const int max_k = 100;

    for (const std::string precision : {"float32", "int8", "binary"}) {
      at::Tensor q_codes, c_codes;
      const double prepare = seconds_of([&] {
        if (precision == "float32") {
          auto normalise = [](const at::Tensor& x) {
            return x / at::linalg_vector_norm(x, 2, {-1}, true).clamp_min(1e-12);
          };
          q_codes = normalise(queries).contiguous();
          c_codes = normalise(corpus).contiguous();
        } else if (precision == "int8") {
          const ev::Int8Ranges r = ev::int8_ranges(corpus);
          q_codes = ev::quantize_int8(queries, r);
          c_codes = ev::quantize_int8(corpus, r);
        } else {
          q_codes = ev::pack_words(ev::quantize_ubinary(queries));
          c_codes = ev::pack_words(ev::quantize_ubinary(corpus));
        }
      });
      at::Tensor ints = at::empty({n_q * chunk}, at::kInt);
      at::Tensor floats = at::empty({n_q * chunk}, at::kFloat);
      // Scores of one block into a reused buffer (float32 for GEMM, int32 for the integer kernels).
      auto score = [&](int64_t q0, int64_t q_len, int64_t c0, int64_t c_len) {
        at::Tensor out = floats.narrow(0, 0, q_len * c_len).view({q_len, c_len});
        const at::Tensor q = q_codes.narrow(0, q0, q_len), c = c_codes.narrow(0, c0, c_len);
        if (precision == "float32") {
          at::mm_out(out, q, c.t());
          return out;
        }
        at::Tensor s = ints.narrow(0, 0, q_len * c_len).view({q_len, c_len});
        if (precision == "int8") {
          ev::int8_dot(q, c, s);
        } else {
          ev::hamming_similarity(q, c, dims, s);
        }
        return s;  // int32: top_k_hits_scored's integer selection
      };
      double first = 0.0, warm = 0.0, kernel = 0.0;
      std::vector<std::vector<int64_t>> hits;
      for (int run = 0; run < 2; ++run) {
        (run == 0 ? first : warm) = seconds_of(
            [&] { hits = ev::top_k_hits_scored(n_q, ids, max_k, chunk, q_chunk, score); });
      }
      // The scoring kernel alone over the whole corpus (warm).
      kernel = seconds_of([&] {
        for (int64_t c0 = 0; c0 < n_c; c0 += chunk) score(0, n_q, c0, std::min(chunk, n_c - c0));
      });
      const int64_t bytes = precision == "float32" ? 4 * dims
                            : precision == "int8"  ? dims
                                                   : (dims + 7) / 8;
      std::printf(
          "{\"precision\": \"%s\", \"queries\": %lld, \"corpus\": %lld, \"dim\": %lld, "
          "\"bytes_per_vector\": %lld, \"kernel\": \"%s\", \"threads\": %d, \"prepare_seconds\": "
          "%.3f, \"first_run_seconds\": %.3f, \"seconds\": %.3f, \"scoring_seconds\": %.3f, "
          "\"top1_of_query0\": %lld}\n",
          precision.c_str(), static_cast<long long>(n_q), static_cast<long long>(n_c),
          static_cast<long long>(dims), static_cast<long long>(bytes),
          precision == "float32" ? "mkl/openblas sgemm"
          : precision == "int8"  ? ev::int8_dot_kernel().c_str()
                                 : (ev::int8_dot_kernel() == "avx2" ? "popcnt" : "portable"),
          at::get_num_threads(), prepare, first, warm, kernel,
          static_cast<long long>(hits[0].empty() ? -1 : hits[0][0]));
      std::fflush(stdout);
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "embedtune_quantized_search_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
