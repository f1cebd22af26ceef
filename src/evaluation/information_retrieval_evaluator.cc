// Chunked exact top-k retrieval and ST's InformationRetrievalEvaluator metrics over embeddings.
#include "evaluation/information_retrieval_evaluator.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <numeric>
#include <span>
#include <unordered_set>

#include "evaluation/metrics.h"
#include "io/error.h"
#include "io/plural.h"
#include "io/settings.h"

namespace embedtune::evaluation {
namespace {

constexpr int64_t kMaxTieKeys = int64_t{1} << 24;  // int64 keys per tie re-selection (128 MiB)

// F.normalize(x, p=2, dim=-1): x / max(||x||, 1e-12), the norm taken as torch.linalg.vector_norm,
// which Tensor.norm dispatches to, so the bits match ST's cos_sim.
at::Tensor normalize_rows(const at::Tensor& x) {
  return x / at::linalg_vector_norm(x, 2, {-1}, true).clamp_min(1e-12).expand_as(x);
}

// Rank of each corpus entry in ascending id order (byte order, which is code point order for
// UTF-8 and so Python's str order).
std::vector<int64_t> id_ranks(const std::vector<std::string>& ids) {
  std::vector<int64_t> order(ids.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return ids[a] < ids[b]; });
  std::vector<int64_t> rank(ids.size());
  for (size_t r = 0; r < order.size(); ++r) rank[order[r]] = static_cast<int64_t>(r);
  return rank;
}

void check_embeddings(const at::Tensor& t, const char* what, size_t n_ids, const char* ids_name) {
  if (!t.defined()) fail("evaluate_retrieval: {} is undefined; pass a (N, D) float32 tensor", what);
  if (t.dim() != 2 || t.scalar_type() != at::kFloat) {
    fail(
        "evaluate_retrieval: {} must be a 2-D float32 tensor, found {}-D {}; convert it with "
        ".to(at::kFloat)",
        what, t.dim(), c10::toString(t.scalar_type()));
  }
  if (t.size(0) != static_cast<int64_t>(n_ids)) {
    fail("evaluate_retrieval: {} has {} rows but {} has {} ids; pass one row per id", what,
         t.size(0), ids_name, n_ids);
  }
}

void check_unique(const std::vector<std::string>& ids, const char* what) {
  std::unordered_set<std::string_view> seen;
  for (const auto& id : ids) {
    if (!seen.insert(id).second) {
      fail(
          "evaluate_retrieval: {} id '{}' appears more than once; ids must be unique (ST keys "
          "them in a dict)",
          what, id);
    }
  }
}

void check_finite(const at::Tensor& block, int64_t first_row, const char* what) {
  if (at::isfinite(block).all().item<bool>()) return;
  const at::Tensor bad_rows = (~at::isfinite(block)).any(1).nonzero();
  fail(
      "evaluate_retrieval: {} row {} holds NaN or infinity; fix the model or the input that "
      "produced it",
      what, first_row + bad_rows[0][0].item<int64_t>());
}

struct Hit {
  float score;
  int64_t index;  // corpus row; equal scores are ordered by corpus_ids[index]
};

// Per (query block x corpus chunk): the chunk's best top_k entries per row in (-score, id) order,
// as ST selects them: torch.topk, then rows with ties at the k-th score re-selected with an
// integer key (every score above the cut-off first, then the tied entries of smallest id).
template <typename Ranks>
std::pair<at::Tensor, at::Tensor> chunk_top_k(const at::Tensor& scores, int64_t top_k,
                                              int64_t c_start, Ranks& ranks, int64_t n_corpus) {
  auto [values, indices] = at::topk(scores, top_k, 1, /*largest=*/true, /*sorted=*/false);
  const at::Tensor thresholds = std::get<0>(values.min(1, /*keepdim=*/true));
  const at::Tensor tied_rows = ((scores >= thresholds).sum(1) > top_k).nonzero().squeeze(1);
  const int64_t n_tied = tied_rows.size(0);
  if (n_tied == 0) return {values, indices};
  const at::Tensor chunk_ranks = ranks().narrow(0, c_start, scores.size(1)).unsqueeze(0);
  const int64_t rows_per_group =
      std::max<int64_t>(1, kMaxTieKeys / std::max<int64_t>(1, scores.size(1)));
  for (int64_t start = 0; start < n_tied; start += rows_per_group) {
    const at::Tensor rows = tied_rows.narrow(0, start, std::min(rows_per_group, n_tied - start));
    const at::Tensor sub = scores.index_select(0, rows);
    const at::Tensor cut = thresholds.index_select(0, rows);
    at::Tensor keys = at::where(sub > cut, chunk_ranks, 2 * n_corpus);
    keys = at::where(sub == cut, chunk_ranks + n_corpus, keys);
    const at::Tensor tie_idx =
        std::get<1>(keys.topk(top_k, 1, /*largest=*/false, /*sorted=*/false));
    values.index_copy_(0, rows, sub.gather(1, tie_idx));
    indices.index_copy_(0, rows, tie_idx);
  }
  return {values, indices};
}

// ST's compute_metrics for one score function: per-query metrics, then accuracy and MRR summed
// in query order and divided by the query count, the others averaged with numpy.mean.
void append_metrics(const std::vector<std::vector<std::string>>& hits,
                    const std::vector<const std::set<std::string>*>& relevant,
                    const IrEvaluatorConfig& config, const std::string& prefix,
                    std::vector<std::pair<std::string, double>>& out) {
  const auto n = static_cast<double>(hits.size());
  auto per_query = [&](int k, double (*metric)(std::span<const std::string>,
                                               const std::set<std::string>&, int)) {
    std::vector<double> values(hits.size());
    for (size_t q = 0; q < hits.size(); ++q) values[q] = metric(hits[q], *relevant[q], k);
    return values;
  };
  auto running_sum = [](const std::vector<double>& values) {
    double sum = 0.0;
    for (double v : values) sum += v;
    return sum;
  };
  auto key = [&](const char* metric, int k) { return fmt::format("{}{}@{}", prefix, metric, k); };
  for (int k : config.accuracy_at_k) {
    out.emplace_back(key("accuracy", k), running_sum(per_query(k, accuracy_at_k)) / n);
  }
  for (int k : config.precision_recall_at_k) {
    out.emplace_back(key("precision", k), numpy_mean(per_query(k, precision_at_k)));
  }
  for (int k : config.precision_recall_at_k) {
    out.emplace_back(key("recall", k), numpy_mean(per_query(k, recall_at_k)));
  }
  for (int k : config.ndcg_at_k)
    out.emplace_back(key("ndcg", k), numpy_mean(per_query(k, ndcg_at_k)));
  for (int k : config.mrr_at_k) {
    out.emplace_back(key("mrr", k), running_sum(per_query(k, mrr_at_k)) / n);
  }
  for (int k : config.map_at_k) out.emplace_back(key("map", k), numpy_mean(per_query(k, map_at_k)));
}

}  // namespace

double IrResults::at(const std::string& key) const {
  for (const auto& [k, v] : metrics) {
    if (k == key) return v;
  }
  std::vector<std::string> some;
  for (size_t i = 0; i < metrics.size() && i < 5; ++i) some.push_back(metrics[i].first);
  fail(
      "IrResults: no metric \"{}\" among {} results (e.g. {}); check the evaluator name and k "
      "lists",
      key, metrics.size(), fmt::join(some, ", "));
}

std::vector<std::vector<int64_t>> top_k_hits_scored(int64_t n_query,
                                                    const std::vector<std::string>& corpus_ids,
                                                    int max_k, int64_t corpus_chunk_size,
                                                    int64_t query_chunk_size,
                                                    const ScoreBlockFn& score_block) {
  c10::InferenceMode guard;
  const auto n_corpus = static_cast<int64_t>(corpus_ids.size());
  TORCH_INTERNAL_ASSERT(max_k >= 1 && corpus_chunk_size >= 1 && query_chunk_size >= 0);

  // Id ranks are only needed when a chunk has ties at its top-k boundary; sorting a million ids
  // costs about a second, so they are computed on first use (on the device of the scores).
  at::Tensor rank_tensor;
  at::Device device = at::kCPU;
  auto ranks = [&]() -> const at::Tensor& {
    if (!rank_tensor.defined()) {
      const std::vector<int64_t> rank = id_ranks(corpus_ids);
      rank_tensor =
          at::tensor(at::ArrayRef<int64_t>(rank), at::TensorOptions().dtype(at::kLong)).to(device);
    }
    return rank_tensor;
  };
  if (query_chunk_size == 0) {
    query_chunk_size =
        std::max<int64_t>(1, IrEvaluatorConfig::kMaxScoreBlock /
                                 std::min(corpus_chunk_size, std::max<int64_t>(1, n_corpus)));
  }

  std::vector<std::vector<Hit>> hits(n_query);
  for (int64_t q_start = 0; q_start < n_query; q_start += query_chunk_size) {
    const int64_t q_len = std::min(query_chunk_size, n_query - q_start);
    for (int64_t c_start = 0; c_start < n_corpus; c_start += corpus_chunk_size) {
      const int64_t c_len = std::min(corpus_chunk_size, n_corpus - c_start);
      const at::Tensor scores = score_block(q_start, q_len, c_start, c_len);  // (q_len, c_len)
      device = scores.device();
      const int64_t top_k = std::min<int64_t>(max_k, c_len);
      at::Tensor values, indices;
      if (scores.scalar_type() == at::kInt) {
        // Exact integer scores: one int64 key per entry, the score in the high 32 bits and the
        // reversed id rank in the low ones, so the largest keys are the chunk's first entries
        // in (-score, id) order, the very set chunk_top_k's tie re-selection picks, in one topk
        // over distinct keys (topk over the few distinct values of Hamming scores, with ties
        // re-selected in nearly every row, took 5x as long as the scoring).
        const at::Tensor reversed_rank = (n_corpus - 1) - ranks().narrow(0, c_start, c_len);
        const at::Tensor keys = scores.to(at::kLong).mul_(int64_t{1} << 32).add_(reversed_rank);
        auto [top_keys, top_indices] = at::topk(keys, top_k, 1, /*largest=*/true, /*sorted=*/false);
        values = at::div(top_keys, int64_t{1} << 32, "floor").to(at::kFloat);
        indices = top_indices;
      } else {
        std::tie(values, indices) = chunk_top_k(scores, top_k, c_start, ranks, n_corpus);
      }
      values = values.to(at::kCPU).contiguous();
      indices = indices.to(at::kCPU).contiguous();
      const auto v = values.accessor<float, 2>();
      const auto ix = indices.accessor<int64_t, 2>();
      for (int64_t r = 0; r < q_len; ++r) {
        auto& list = hits[q_start + r];
        for (int64_t j = 0; j < top_k; ++j) {
          const int64_t row = c_start + ix[r][j];
          list.push_back({v[r][j], row});
        }
        // ST: query_hits.sort(key=lambda x: (-x[0], x[1])); del query_hits[max_k:]
        std::sort(list.begin(), list.end(), [&](const Hit& a, const Hit& b) {
          return a.score > b.score ||
                 (a.score == b.score && corpus_ids[a.index] < corpus_ids[b.index]);
        });
        if (list.size() > static_cast<size_t>(max_k)) list.resize(max_k);
      }
    }
  }
  std::vector<std::vector<int64_t>> out(n_query);
  for (int64_t q = 0; q < n_query; ++q) {
    out[q].reserve(hits[q].size());
    for (const auto& h : hits[q]) out[q].push_back(h.index);
  }
  return out;
}

std::vector<std::vector<int64_t>> top_k_hits(const at::Tensor& query, const at::Tensor& corpus,
                                             const std::vector<std::string>& corpus_ids,
                                             const std::string& score_function, int max_k,
                                             int64_t corpus_chunk_size, int64_t query_chunk_size,
                                             bool check_corpus) {
  c10::InferenceMode guard;
  const int64_t n_query = query.size(0);
  const int64_t n_corpus = corpus.size(0);
  TORCH_INTERNAL_ASSERT(static_cast<int64_t>(corpus_ids.size()) == n_corpus);
  TORCH_INTERNAL_ASSERT(max_k >= 1 && corpus_chunk_size >= 1 && query_chunk_size >= 0);
  const bool cosine = score_function == "cosine";
  TORCH_INTERNAL_ASSERT(cosine || score_function == "dot");
  if (query_chunk_size == 0) {
    query_chunk_size =
        std::max<int64_t>(1, IrEvaluatorConfig::kMaxScoreBlock /
                                 std::min(corpus_chunk_size, std::max<int64_t>(1, n_corpus)));
  }

  // One buffer each for a chunk's normalised rows, their norms and its score block, reused by
  // every chunk: fresh allocations of this size are fresh pages, and faulting them in costs more
  // than the GEMM. Results are written as at::div / at::mm would write them (same kernels).
  const int64_t max_c_len = std::min(corpus_chunk_size, n_corpus);
  const int64_t max_q_len = std::min(query_chunk_size, n_query);
  const at::TensorOptions f32 = corpus.options().dtype(at::kFloat);
  at::Tensor docs_buffer = cosine ? at::empty({max_c_len * corpus.size(1)}, f32) : at::Tensor();
  at::Tensor norm_buffer = at::empty({max_c_len}, f32);
  at::Tensor score_buffer = at::empty({max_q_len * max_c_len}, f32);
  auto view = [](const at::Tensor& buffer, int64_t rows, int64_t cols) {
    return buffer.narrow(0, 0, rows * cols).view({rows, cols});
  };

  at::Tensor queries;
  int64_t queries_start = -1;
  auto score_block = [&](int64_t q_start, int64_t q_len, int64_t c_start, int64_t c_len) {
    if (q_start != queries_start) {
      queries = query.narrow(0, q_start, q_len).contiguous();
      if (cosine) queries = normalize_rows(queries);
      queries_start = q_start;
    }
    at::Tensor docs = corpus.narrow(0, c_start, c_len).contiguous();
    // A row whose norm (cosine) or sum (dot) is finite holds only finite values, so the exact
    // check runs only on a chunk where one is not (which may also be finite values too large
    // to square or add).
    // The norms are needed for cosine anyway; dot's sums only on the first query chunk's pass.
    const bool check = check_corpus && q_start == 0;
    at::Tensor summary = view(norm_buffer, c_len, 1);
    if (cosine) {
      at::linalg_vector_norm_out(summary, docs, 2, {-1}, true);
    } else if (check) {
      at::sum_out(summary, docs, {-1}, true);
    }
    if (check && !at::isfinite(summary).all().item<bool>()) {
      check_finite(docs, c_start, "corpus_embeddings");
    }
    if (cosine) {
      // normalize_rows, written into the buffer: x / max(||x||, 1e-12).
      summary.clamp_min_(1e-12);
      at::Tensor normalised = view(docs_buffer, c_len, docs.size(1));
      at::div_out(normalised, docs, summary.expand_as(docs));
      docs = normalised;
    }
    at::Tensor scores = view(score_buffer, q_len, c_len);
    at::mm_out(scores, queries, docs.t());  // (q_len, c_len), as ST's torch.mm
    return scores;
  };
  return top_k_hits_scored(n_query, corpus_ids, max_k, corpus_chunk_size, query_chunk_size,
                           score_block);
}

std::vector<int64_t> kept_queries(const std::vector<std::string>& query_ids,
                                  const std::map<std::string, std::set<std::string>>& relevant,
                                  std::vector<const std::set<std::string>*>* kept_relevant) {
  std::vector<int64_t> kept;
  for (size_t i = 0; i < query_ids.size(); ++i) {
    auto it = relevant.find(query_ids[i]);
    if (it != relevant.end() && !it->second.empty()) {
      kept.push_back(static_cast<int64_t>(i));
      if (kept_relevant != nullptr) kept_relevant->push_back(&it->second);
    }
  }
  return kept;
}

void append_ir_metrics(const std::vector<std::vector<std::string>>& hits,
                       const std::vector<const std::set<std::string>*>& relevant,
                       const IrEvaluatorConfig& config, const std::string& prefix,
                       std::vector<std::pair<std::string, double>>& out) {
  append_metrics(hits, relevant, config, prefix, out);
}

IrResults evaluate_retrieval(const at::Tensor& query_embeddings,
                             const at::Tensor& corpus_embeddings,
                             const std::vector<std::string>& query_ids,
                             const std::vector<std::string>& corpus_ids,
                             const std::map<std::string, std::set<std::string>>& relevant,
                             const IrEvaluatorConfig& config) {
  config.validate();
  check_embeddings(query_embeddings, "query_embeddings", query_ids.size(), "query_ids");
  check_embeddings(corpus_embeddings, "corpus_embeddings", corpus_ids.size(), "corpus_ids");
  if (query_embeddings.size(1) != corpus_embeddings.size(1)) {
    fail(
        "evaluate_retrieval: query embeddings have {} dimensions but corpus embeddings {}; encode "
        "both with the same model and truncation",
        query_embeddings.size(1), corpus_embeddings.size(1));
  }
  check_unique(query_ids, "query");
  check_unique(corpus_ids, "corpus");

  // ST keeps the queries with at least one relevant document, in their given order.
  std::vector<const std::set<std::string>*> kept_relevant;
  const std::vector<int64_t> kept = kept_queries(query_ids, relevant, &kept_relevant);
  if (kept.empty()) {
    fail(
        "evaluate_retrieval: expected a query with a relevant document in the qrels, found none "
        "({} read); check that the query ids in relevant_docs match the queries",
        io::counted(query_ids.size(), "query", "queries"));
  }

  c10::InferenceMode guard;
  at::Tensor queries = query_embeddings;
  if (kept.size() != query_ids.size()) {
    queries = query_embeddings.index_select(
        0, at::tensor(at::ArrayRef<int64_t>(kept), at::TensorOptions().dtype(at::kLong))
               .to(query_embeddings.device()));
  }
  check_finite(queries, 0, "query_embeddings (after dropping queries without relevant documents)");
  // The corpus is checked for NaN and infinity chunk by chunk in top_k_hits, which reads it anyway.

  const std::string prefix = config.name.empty() ? "" : config.name + "_";
  IrResults results;
  std::map<std::string, double> primary_ndcg;  // sorted by score function name, as ST's max()
  const int ndcg_k = *std::max_element(config.ndcg_at_k.begin(), config.ndcg_at_k.end());
  for (const auto& score : config.score_functions) {
    const auto indices = top_k_hits(queries, corpus_embeddings, corpus_ids, score, config.max_k(),
                                    config.corpus_chunk_size, config.query_chunk_size,
                                    /*check_corpus=*/true);
    std::vector<std::vector<std::string>> hits(indices.size());
    for (size_t q = 0; q < indices.size(); ++q) {
      for (int64_t row : indices[q]) hits[q].push_back(corpus_ids[row]);
    }
    const size_t first = results.metrics.size();
    append_metrics(hits, kept_relevant, config, prefix + score + "_", results.metrics);
    const std::string ndcg_key = fmt::format("{}{}_ndcg@{}", prefix, score, ndcg_k);
    for (size_t i = first; i < results.metrics.size(); ++i) {
      if (results.metrics[i].first == ndcg_key) primary_ndcg[score] = results.metrics[i].second;
    }
  }
  std::string primary = config.main_score_function;
  if (primary.empty()) {
    // max() over (name, ndcg) in sorted name order keeps the first maximum.
    double best = 0.0;
    for (const auto& [name, value] : primary_ndcg) {
      if (primary.empty() || value > best) {
        primary = name;
        best = value;
      }
    }
  }
  results.primary_metric = fmt::format("{}{}_ndcg@{}", prefix, primary, ndcg_k);
  return results;
}

IrResults evaluate_matryoshka(const at::Tensor& query_full, const at::Tensor& corpus_full,
                              const std::vector<std::string>& query_ids,
                              const std::vector<std::string>& corpus_ids,
                              const std::map<std::string, std::set<std::string>>& relevant,
                              const std::vector<int64_t>& dims, const IrEvaluatorConfig& base) {
  check_embeddings(query_full, "query_full", query_ids.size(), "query_ids");
  check_embeddings(corpus_full, "corpus_full", corpus_ids.size(), "corpus_ids");
  const int64_t full = query_full.size(1);
  if (dims.empty())
    fail("evaluate_matryoshka: expected at least one dimension, found none; e.g. {}", full);
  std::set<int64_t> seen;
  for (int64_t d : dims) {
    if (d < 1 || d > full || d > corpus_full.size(1)) {
      fail("evaluate_matryoshka: dimension {} is outside 1..{} (the embedding size); remove it", d,
           full);
    }
    if (!seen.insert(d).second)
      fail("evaluate_matryoshka: dimension {} appears twice; list it once", d);
  }
  IrResults all;
  double last_primary = 0.0;
  for (int64_t d : dims) {
    IrEvaluatorConfig config = base;
    config.name = matryoshka_name(base, d);
    // ST's truncate_embeddings: embeddings[..., :d], no re-normalisation.
    IrResults one = evaluate_retrieval(query_full.narrow(1, 0, d), corpus_full.narrow(1, 0, d),
                                       query_ids, corpus_ids, relevant, config);
    last_primary = one.primary_score();
    all.metrics.insert(all.metrics.end(), one.metrics.begin(), one.metrics.end());
  }
  all.metrics.emplace_back("sequential_score", last_primary);
  all.primary_metric = "sequential_score";
  return all;
}

}  // namespace embedtune::evaluation
