// Times evaluate_retrieval (exact chunked top-k + ST's metrics) on stored .npy embeddings and
// reports wall time and peak RSS as one JSON line; driven by bench/bench_eval_topk.py.
//
// Usage: embedtune_eval_topk_bench QUERIES.npy CORPUS.npy [--chunk N] [--score cosine|dot]
// Query i's one relevant document is corpus row (i * 7919) % C, ids are the row numbers.
#include <ATen/ATen.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>

#include "evaluation/information_retrieval_evaluator.h"
#include "io/npy.h"

namespace {

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

at::Tensor load(const char* path) {
  const auto header = embedtune::io::read_npy_header(path);
  if (header.descr != "<f4" || header.shape.size() != 2)
    throw std::runtime_error(std::string(path) + ": expected 2-D <f4");
  // Read straight into the tensor, as evaluate --load-embeddings does: the corpus is held once.
  at::Tensor out = at::empty(header.shape, at::kFloat);
  embedtune::io::read_npy_data(path, header, out.data_ptr<float>());
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s QUERIES.npy CORPUS.npy [--chunk N] [--score cosine|dot]\n",
                 argv[0]);
    return 2;
  }
  try {
    embedtune::evaluation::IrEvaluatorConfig config;
    for (int i = 3; i + 1 < argc; i += 2) {
      if (std::strcmp(argv[i], "--chunk") == 0) config.corpus_chunk_size = std::stoll(argv[i + 1]);
      if (std::strcmp(argv[i], "--score") == 0) config.score_functions = {argv[i + 1]};
    }
    const at::Tensor queries = load(argv[1]);
    const at::Tensor corpus = load(argv[2]);
    const double rss_loaded = peak_rss_mib();
    std::vector<std::string> qids, cids;
    std::map<std::string, std::set<std::string>> relevant;
    for (int64_t i = 0; i < corpus.size(0); ++i) cids.push_back(std::to_string(i));
    for (int64_t i = 0; i < queries.size(0); ++i) {
      qids.push_back(std::string("q").append(std::to_string(i)));
      relevant[qids.back()] = {cids[(i * 7919) % corpus.size(0)]};
    }
    // Two runs: the first includes LibTorch/MKL warm-up (thread pool, first-touch allocations).
    double first = 0.0, seconds = 0.0;
    embedtune::evaluation::IrResults results;
    for (int run = 0; run < 2; ++run) {
      const auto start = std::chrono::steady_clock::now();
      results =
          embedtune::evaluation::evaluate_retrieval(queries, corpus, qids, cids, relevant, config);
      (run == 0 ? first : seconds) =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }
    std::printf(
        "{\"queries\": %lld, \"corpus\": %lld, \"dim\": %lld, \"seconds\": %.3f, "
        "\"first_run_seconds\": %.3f, \"peak_rss_mib\": %.1f, \"rss_after_load_mib\": %.1f, "
        "\"ndcg@10\": %.6f}\n",
        static_cast<long long>(queries.size(0)), static_cast<long long>(corpus.size(0)),
        static_cast<long long>(corpus.size(1)), seconds, first, peak_rss_mib(), rss_loaded,
        results.primary_score());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "embedtune_eval_topk_bench: %s\n", e.what());
    return 1;
  }
  return 0;
}
