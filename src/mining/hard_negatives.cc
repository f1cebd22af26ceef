// mine_hard_negatives: the steps of sentence-transformers 6.2's util/hard_negatives.py (no
// cross-encoder, no FAISS), each with the same tensor operations, so scores, ties and the rows
// built from them come out the same.
#include "mining/hard_negatives.h"

#include <ATen/ATen.h>
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "io/atomic_file.h"
#include "io/checksum.h"
#include "io/error.h"
#include "io/npy.h"
#include "io/settings.h"
#include "losses/multiple_negatives_ranking_loss.h"
#include "mining/python_random.h"
#include "model/sentence_transformer.h"

namespace embedtune::mining {
namespace fs = std::filesystem;
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Python's f"{n:,}".
std::string with_commas(int64_t n) {
  std::string digits = std::to_string(n < 0 ? -n : n);
  std::string out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return n < 0 ? "-" + out : out;
}

// The model's similarity as ST's model.similarity / similarity_pairwise.
SimilarityFunction model_similarity(const SentenceTransformer& model) {
  const std::string name = model.similarity_fn_name();
  if (name == "cosine") return SimilarityFunction::kCosine;
  if (name == "dot") return SimilarityFunction::kDot;
  fail(
      "{}: similarity_fn_name '{}' is not supported for mining (cosine or dot are); set it to "
      "cosine in config_sentence_transformers.json",
      model.source_dir().string(), name);
}

at::Tensor pairwise_similarity(const at::Tensor& a, const at::Tensor& b,
                               SimilarityFunction similarity) {
  if (similarity == SimilarityFunction::kCosine) {
    return (truncate_and_normalize(a, a.size(1)) * truncate_and_normalize(b, b.size(1))).sum(-1);
  }
  return (a * b).sum(-1);
}

// Encodes `texts` with `prompt` as `task` (encode_query or encode_document) and L2-normalises
// them (normalize_embeddings=True), or reads them from the cache folder when an earlier run stored
// the same model, prompt and texts (ST's file names: query_ or corpus_embeddings_<hash>.npy).
at::Tensor embed(SentenceTransformer& model, const std::vector<std::string>& texts,
                 const std::string& prompt, EncodeTask task, const MineSettings& settings,
                 const MineProgress& progress) {
  const std::string_view what = task == EncodeTask::kQuery ? "query" : "corpus";
  fs::path cache_file;
  if (!settings.cache_folder.empty()) {
    std::string key = fs::absolute(model.source_dir()).lexically_normal().string();
    key += '\0' + prompt + '\0' + std::to_string(model.max_seq_length());
    for (const std::string& text : texts) key += '\0' + text;
    cache_file = fs::path(settings.cache_folder) /
                 fmt::format("{}_embeddings_{:016x}.npy", what, io::xxh64(key));
    std::error_code ec;
    if (fs::exists(cache_file, ec)) {
      const io::NpyHeader header = io::read_npy_header(cache_file);
      if (header.descr != "<f4" || header.shape.size() != 2 ||
          header.shape[0] != static_cast<int64_t>(texts.size()) ||
          header.shape[1] != model.dimension()) {
        fail("{}: expected float32 ({}, {}) embeddings, found another array; delete the file",
             cache_file.string(), texts.size(), model.dimension());
      }
      at::Tensor out = at::empty({header.shape[0], header.shape[1]}, at::kFloat);
      io::read_npy_data(cache_file, header, out.data_ptr<float>());
      return out;
    }
  }
  EncodeOptions options;
  options.batch_size = settings.batch_size;
  options.prompt = prompt;
  options.task = task;
  if (progress) {
    options.progress = [&](int64_t done, int64_t total) { progress(what, done, total); };
  }
  at::Tensor embeddings = model.encode(texts, options);
  embeddings = truncate_and_normalize(embeddings, embeddings.size(1)).contiguous();
  if (!cache_file.empty()) {
    fs::create_directories(cache_file.parent_path());
    io::write_npy_f32(cache_file, embeddings.data_ptr<float>(),
                      {embeddings.size(0), embeddings.size(1)});
  }
  return embeddings;
}

std::optional<std::string> given(const std::string& value) {
  return value.empty() ? std::nullopt : std::optional(value);
}

// x.repeat(n, 1).T for a 1-D x: (len(x), n).
at::Tensor repeat_columns(const at::Tensor& x, int64_t n) { return x.repeat({n, 1}).t(); }

// Each row of `x` (Q, K) repeated n_positives[q] times: (P, K).
at::Tensor repeat_rows(const at::Tensor& x, const std::vector<int64_t>& n_positives) {
  std::vector<at::Tensor> parts;
  for (size_t q = 0; q < n_positives.size(); ++q) parts.push_back(x[q].repeat({n_positives[q], 1}));
  return at::cat(parts);
}

// The statistics ST's summary lists, in its order: mean, median and std (nan for too few scores,
// as torch), then min, quantiles and max (none for no scores, where ST prints inf or -inf).
std::vector<std::pair<std::string, std::optional<double>>> score_statistics(const at::Tensor& s) {
  const bool empty = s.numel() == 0;
  const auto value = [](const at::Tensor& t) {
    return std::optional<double>(static_cast<double>(t.item<float>()));
  };
  const auto quantile = [&](double q) {
    return empty ? std::nullopt : value(at::quantile(s.to(at::kFloat), q));
  };
  return {{"Mean", value(s.mean())},
          {"Median", empty ? std::optional<double>(NAN) : value(s.median())},
          // torch gives nan below two scores too, with a warning on stderr that says nothing more.
          {"Std", s.numel() < 2 ? std::optional<double>(NAN) : value(s.std())},
          {"Min", empty ? std::nullopt : value(s.min())},
          {"25%", quantile(0.25)},
          {"50%", quantile(0.5)},
          {"75%", quantile(0.75)},
          {"Max", empty ? std::nullopt : value(s.max())}};
}

// The statistics table ST prints ("Metric Positive Negative Difference").
std::string score_table(const at::Tensor& positive, const at::Tensor& negative,
                        const at::Tensor& difference) {
  const auto row = [](std::string_view a, std::string_view b, std::string_view c,
                      std::string_view d) {
    return fmt::format("{:<6} {:>14} {:>14} {:>14}\n", a, b, c, d);
  };
  std::string out = row("Metric", "Positive", "Negative", "Difference");
  out += row("Count", with_commas(positive.numel()), with_commas(negative.numel()), "");
  const auto columns = {score_statistics(positive), score_statistics(negative),
                        score_statistics(difference)};
  const auto& first = *columns.begin();
  for (size_t i = 0; i < first.size(); ++i) {
    std::vector<std::string> cells;
    for (const auto& column : columns) {
      const auto& v = column[i].second;
      // Python's f"{value:,}" of the float inf / -inf ST substitutes for no scores.
      // Python prints a nan of either sign as "nan".
      cells.push_back(!v               ? (first[i].first == "Max" ? "-inf" : "inf")
                      : std::isnan(*v) ? "nan"
                                       : fmt::format("{:.4f}", *v));
    }
    out += row(first[i].first, cells[0], cells[1], cells[2]);
  }
  return out;
}

}  // namespace

MineResult mine_hard_negatives(SentenceTransformer& model, const std::vector<std::string>& anchors,
                               const std::vector<std::string>& positive_texts,
                               const std::vector<std::string>* extra_corpus,
                               const MineSettings& settings, const MineProgress& progress) {
  settings.validate("mine: ");
  if (anchors.empty()) fail("mine: the dataset is empty; give it (anchor, positive) rows");
  TORCH_INTERNAL_ASSERT(anchors.size() == positive_texts.size());
  const SimilarityFunction similarity = model_similarity(model);
  MineResult result;
  std::string& report = result.report;
  const int64_t num_negatives = settings.num_negatives;
  const int64_t range_min = settings.range_min;
  std::string output_format = settings.output_format;
  if (settings.include_positives) output_format = "n-tuple";  // ST keeps the ranking order so

  // Rows per anchor text (pandas' groupby(anchor).count()): the most gives the room to leave.
  std::unordered_map<std::string, int64_t> rows_per_anchor;
  for (const std::string& anchor : anchors) ++rows_per_anchor[anchor];
  int64_t max_positives = 0;
  for (const auto& [anchor, count] : rows_per_anchor)
    max_positives = std::max(max_positives, count);

  const bool filtered = settings.absolute_margin || settings.relative_margin || settings.max_score;
  int64_t range_max = 0;
  if (settings.range_max) {
    range_max = *settings.range_max;
  } else {
    range_max = range_min + num_negatives * (filtered ? 10 : 1) + max_positives;
    report += fmt::format("Setting range_max to {} based on the provided parameters.\n", range_max);
  }
  result.range_max = range_max;
  if (range_min >= range_max) {
    fail(
        "mine: range_min must be smaller than range_max, found range_min={} and range_max={}; "
        "raise range_max",
        range_min, range_max);
  }
  if (num_negatives > range_max - range_min) {
    fail(
        "mine: cannot mine {} negatives per query: only {} candidates remain after skipping the "
        "first range_min={} of range_max={}; decrease num_negatives or range_min, or increase "
        "range_max",
        num_negatives, range_max - range_min, range_min, range_max);
  }

  // The corpus: the extra documents, then the positives, each text once.
  std::vector<std::string> corpus;
  std::unordered_map<std::string, int64_t> corpus_index;
  const auto add_document = [&](const std::string& text) {
    if (corpus_index.emplace(text, static_cast<int64_t>(corpus.size())).second)
      corpus.push_back(text);
  };
  if (extra_corpus) {
    for (const std::string& text : *extra_corpus) add_document(text);
  }
  for (const std::string& text : positive_texts) add_document(text);

  // Unique anchors, in first-seen order.
  std::vector<std::string> queries;
  std::unordered_map<std::string, int64_t> query_index;
  for (const std::string& anchor : anchors) {
    if (query_index.emplace(anchor, static_cast<int64_t>(queries.size())).second)
      queries.push_back(anchor);
  }
  const auto n_queries = static_cast<int64_t>(queries.size());
  result.unique_anchors = n_queries;
  if (n_queries != static_cast<int64_t>(anchors.size())) {
    report += fmt::format("Found {} unique queries out of {} total queries.\n", n_queries,
                          anchors.size());
  }
  if (max_positives > 1) {
    report += fmt::format("Found an average of {:.3f} positives per query.\n",
                          static_cast<double>(anchors.size()) / static_cast<double>(n_queries));
  }

  // encode_document for the corpus, then encode_query for the anchors, as ST orders them.
  const std::string corpus_prompt = model.resolve_prompt(
      given(settings.corpus_prompt), given(settings.corpus_prompt_name), EncodeTask::kDocument);
  const std::string query_prompt = model.resolve_prompt(
      given(settings.query_prompt), given(settings.query_prompt_name), EncodeTask::kQuery);
  at::Tensor corpus_embeddings =
      embed(model, corpus, corpus_prompt, EncodeTask::kDocument, settings, progress);
  at::Tensor query_embeddings =
      embed(model, queries, query_prompt, EncodeTask::kQuery, settings, progress);

  // Exact top-k per anchor, faiss_batch_size anchors at a time, padded to range_max +
  // max_positives columns with index -1 when the corpus is smaller.
  const int64_t wanted = range_max + max_positives;
  const int64_t k = std::min<int64_t>(wanted, static_cast<int64_t>(corpus.size()));
  std::vector<at::Tensor> score_chunks, index_chunks;
  for (int64_t i = 0; i < n_queries; i += settings.faiss_batch_size) {
    const at::Tensor chunk = query_embeddings.slice(0, i, i + settings.faiss_batch_size);
    auto [values, indices] =
        at::topk(similarity_matrix(chunk, corpus_embeddings, similarity), k, 1);
    score_chunks.push_back(values);
    index_chunks.push_back(indices);
  }
  at::Tensor scores = at::cat(score_chunks);
  at::Tensor indices = at::cat(index_chunks);
  if (wanted > k) {
    scores = at::cat({scores, at::full({n_queries, wanted - k}, -kInf, scores.options())}, 1);
    indices = at::cat({indices, at::full({n_queries, wanted - k}, -1, indices.options())}, 1);
  }

  // Each anchor's positives (corpus indices, first-seen order, each once).
  std::vector<std::vector<int64_t>> positive_indices(static_cast<size_t>(n_queries));
  for (size_t r = 0; r < anchors.size(); ++r) {
    auto& list = positive_indices[query_index[anchors[r]]];
    const int64_t doc = corpus_index[positive_texts[r]];
    if (std::find(list.begin(), list.end(), doc) == list.end()) list.push_back(doc);
  }
  std::vector<int64_t> n_positives;
  std::vector<int64_t> pair_query, pair_positive;  // per (anchor, positive) pair, in query order
  for (int64_t q = 0; q < n_queries; ++q) {
    n_positives.push_back(static_cast<int64_t>(positive_indices[q].size()));
    for (int64_t doc : positive_indices[q]) pair_query.push_back(q), pair_positive.push_back(doc);
  }
  const auto long_tensor = [](const std::vector<int64_t>& v) {
    return at::tensor(v, at::TensorOptions().dtype(at::kLong));
  };
  const at::Tensor positive_scores = pairwise_similarity(
      query_embeddings.index_select(0, long_tensor(pair_query)),
      corpus_embeddings.index_select(0, long_tensor(pair_positive)), similarity);

  scores.masked_fill_(indices == -1, -kInf);
  if (!settings.include_positives) {
    std::vector<at::Tensor> masks;
    for (int64_t q = 0; q < n_queries; ++q)
      masks.push_back(at::isin(indices[q], long_tensor(positive_indices[q])));
    scores.masked_fill_(at::stack(masks), -kInf);
  }

  double num_candidates = static_cast<double>(scores.numel());
  const auto skip = [&](const at::Tensor& removed, const std::string& parameter, double value,
                        bool reduce) {
    const int64_t count = removed.sum().item<int64_t>();
    scores.masked_fill_(removed, -kInf);
    if (count == 0) return;
    result.skipped.push_back({{"parameter", parameter},
                              {"value", value},
                              {"skipped", count},
                              {"ratio", static_cast<double>(count) / num_candidates}});
    if (reduce) num_candidates -= static_cast<double>(count);
  };
  if (settings.absolute_margin || settings.relative_margin) {
    // The lowest positive score of each anchor (the hardest positive) sets the margin.
    at::Tensor lowest_positive = at::empty({n_queries}, positive_scores.options());
    int64_t offset = 0;
    for (int64_t q = 0; q < n_queries; ++q) {
      lowest_positive[q] = positive_scores.slice(0, offset, offset + n_positives[q]).min();
      offset += n_positives[q];
    }
    if (settings.absolute_margin) {
      skip(scores + *settings.absolute_margin > repeat_columns(lowest_positive, scores.size(1)),
           "absolute_margin", *settings.absolute_margin, true);
    }
    if (settings.relative_margin) {
      const at::Tensor threshold =
          lowest_positive - lowest_positive.abs() * *settings.relative_margin;
      skip(scores > repeat_columns(threshold, scores.size(1)), "relative_margin",
           *settings.relative_margin, true);
    }
  }
  if (settings.max_score)
    skip(scores > *settings.max_score, "max_score", *settings.max_score, false);
  if (settings.min_score)
    skip(scores < *settings.min_score, "min_score", *settings.min_score, false);

  // The best range_max candidates left, ranks range_min.. of them.
  auto [negative_scores, local_indices] = at::topk(scores, range_max, 1);
  indices = indices.gather(1, local_indices);
  if (range_min > 0) {
    indices = indices.slice(1, range_min);
    negative_scores = negative_scores.slice(1, range_min);
  }
  if (settings.sampling_strategy == "top") {
    indices = indices.slice(1, 0, num_negatives);
    negative_scores = negative_scores.slice(1, 0, num_negatives);
  } else {
    // A sample among the finite candidates (all of them when too few are finite), drawn as
    // random.sample(range(options), k) per anchor, then sorted by score again.
    const at::Tensor options =
        (indices.size(1) - negative_scores.isinf().sum(1)).clamp_min(num_negatives);
    PythonRandom random(settings.seed);
    std::vector<int64_t> sampled;
    for (int64_t q = 0; q < n_queries; ++q) {
      const std::vector<int64_t> draw =
          random.sample_range(options[q].item<int64_t>(), num_negatives);
      sampled.insert(sampled.end(), draw.begin(), draw.end());
    }
    const at::Tensor picks = long_tensor(sampled).view({n_queries, num_negatives});
    indices = indices.gather(1, picks);
    negative_scores = negative_scores.gather(1, picks);
    auto [sorted, order] = negative_scores.sort(1, /*descending=*/true);
    negative_scores = sorted;
    indices = indices.gather(1, order);
  }

  const std::string& anchor_name = settings.anchor_column_name;
  const std::string& positive_name = settings.positive_column_name;
  const auto n_pairs = static_cast<int64_t>(pair_query.size());
  const auto doc = [&](int64_t index) -> const std::string& { return corpus[index]; };
  at::Tensor difference;
  if (output_format == "triplet") {
    const at::Tensor pair_indices = repeat_rows(indices, n_positives);
    const at::Tensor pair_scores = repeat_rows(negative_scores, n_positives);
    const at::Tensor keep = pair_scores != -kInf;
    const at::Tensor positive_grid = repeat_columns(positive_scores, num_negatives);
    result.columns = {anchor_name, positive_name, "negative"};
    if (settings.output_scores) result.columns.push_back("scores");
    const auto keep_a = keep.accessor<bool, 2>();
    const auto index_a = pair_indices.accessor<int64_t, 2>();
    const auto score_a = pair_scores.accessor<float, 2>();
    const auto positive_a = positive_scores.accessor<float, 1>();
    for (int64_t p = 0; p < n_pairs; ++p) {
      for (int64_t j = 0; j < num_negatives; ++j) {
        if (!keep_a[p][j]) continue;
        nlohmann::ordered_json row;
        row[anchor_name] = queries[pair_query[p]];
        row[positive_name] = doc(pair_positive[p]);
        row["negative"] = doc(index_a[p][j]);
        if (settings.output_scores)
          row["scores"] = {static_cast<double>(positive_a[p]), static_cast<double>(score_a[p][j])};
        result.rows.push_back(std::move(row));
      }
    }
    result.negative_scores = pair_scores.masked_select(keep);
    difference = positive_grid.masked_select(keep) - result.negative_scores;
    result.maximum_samples = keep.numel();
  } else if (output_format == "labeled-pair") {
    const std::string label_name = settings.output_scores ? "score" : "label";
    result.columns = {anchor_name, positive_name, label_name};
    const auto index_a = indices.accessor<int64_t, 2>();
    const auto score_a = negative_scores.accessor<float, 2>();
    const auto positive_a = positive_scores.accessor<float, 1>();
    int64_t pair = 0;
    for (int64_t q = 0; q < n_queries; ++q) {
      for (int64_t d : positive_indices[q]) {
        nlohmann::ordered_json row;
        row[anchor_name] = queries[q];
        row[positive_name] = doc(d);
        if (settings.output_scores) {
          row[label_name] = static_cast<double>(positive_a[pair]);
        } else {
          row[label_name] = 1;
        }
        ++pair;
        result.rows.push_back(std::move(row));
      }
      for (int64_t j = 0; j < num_negatives; ++j) {
        if (score_a[q][j] == -kInf) continue;
        nlohmann::ordered_json row;
        row[anchor_name] = queries[q];
        row[positive_name] = doc(index_a[q][j]);
        if (settings.output_scores) {
          row[label_name] = static_cast<double>(score_a[q][j]);
        } else {
          row[label_name] = 0;
        }
        result.rows.push_back(std::move(row));
      }
    }
    const at::Tensor pair_scores = repeat_rows(negative_scores, n_positives);
    const at::Tensor keep = pair_scores != -kInf;
    result.negative_scores = pair_scores.masked_select(keep);
    difference =
        repeat_columns(positive_scores, num_negatives).masked_select(keep) - result.negative_scores;
    result.maximum_samples = n_queries * num_negatives + static_cast<int64_t>(anchors.size());
  } else if (output_format == "n-tuple") {
    const at::Tensor pair_indices = repeat_rows(indices, n_positives);
    const at::Tensor pair_scores = repeat_rows(negative_scores, n_positives);
    const at::Tensor keep = (pair_scores != -kInf).all(1);
    result.columns = {anchor_name, positive_name};
    for (int64_t j = 1; j <= num_negatives; ++j)
      result.columns.push_back(fmt::format("negative_{}", j));
    if (settings.output_scores) result.columns.push_back("scores");
    const auto keep_a = keep.accessor<bool, 1>();
    const auto index_a = pair_indices.accessor<int64_t, 2>();
    const auto score_a = pair_scores.accessor<float, 2>();
    const auto positive_a = positive_scores.accessor<float, 1>();
    for (int64_t p = 0; p < n_pairs; ++p) {
      if (!keep_a[p]) continue;
      nlohmann::ordered_json row;
      row[anchor_name] = queries[pair_query[p]];
      row[positive_name] = doc(pair_positive[p]);
      for (int64_t j = 0; j < num_negatives; ++j)
        row[fmt::format("negative_{}", j + 1)] = doc(index_a[p][j]);
      if (settings.output_scores) {
        nlohmann::ordered_json list = nlohmann::ordered_json::array();
        list.push_back(static_cast<double>(positive_a[p]));
        for (int64_t j = 0; j < num_negatives; ++j)
          list.push_back(static_cast<double>(score_a[p][j]));
        row["scores"] = std::move(list);
      }
      result.rows.push_back(std::move(row));
    }
    const at::Tensor kept_scores = pair_scores.index({keep});
    result.negative_scores = kept_scores.flatten();
    difference = repeat_columns(positive_scores, num_negatives).index({keep}).flatten() -
                 result.negative_scores;
    result.maximum_samples = keep.size(0);
  } else {  // labeled-list
    const at::Tensor pair_indices = repeat_rows(indices, n_positives);
    const at::Tensor pair_scores = repeat_rows(negative_scores, n_positives);
    const at::Tensor keep = pair_scores != -kInf;
    const std::string label_name = settings.output_scores ? "scores" : "labels";
    result.columns = {anchor_name, positive_name, label_name};
    const auto keep_a = keep.accessor<bool, 2>();
    const auto index_a = pair_indices.accessor<int64_t, 2>();
    const auto score_a = pair_scores.accessor<float, 2>();
    const auto positive_a = positive_scores.accessor<float, 1>();
    for (int64_t p = 0; p < n_pairs; ++p) {
      nlohmann::ordered_json documents = {doc(pair_positive[p])};
      nlohmann::ordered_json labels = nlohmann::ordered_json::array();
      if (settings.output_scores) {
        labels.push_back(static_cast<double>(positive_a[p]));
      } else {
        labels.push_back(1);
      }
      for (int64_t j = 0; j < num_negatives; ++j) {
        if (!keep_a[p][j]) continue;
        documents.push_back(doc(index_a[p][j]));
        if (settings.output_scores) {
          labels.push_back(static_cast<double>(score_a[p][j]));
        } else {
          labels.push_back(0);
        }
      }
      if (documents.size() == 1) continue;
      nlohmann::ordered_json row;
      row[anchor_name] = queries[pair_query[p]];
      row[positive_name] = std::move(documents);
      row[label_name] = std::move(labels);
      result.rows.push_back(std::move(row));
    }
    result.negative_scores = pair_scores.masked_select(keep);
    difference =
        repeat_columns(positive_scores, num_negatives).masked_select(keep) - result.negative_scores;
    result.maximum_samples = keep.size(0);
  }
  result.positive_scores = positive_scores;
  result.difference_scores = difference;

  report += "Negative candidates mined, preparing dataset...\n";
  report += score_table(positive_scores, result.negative_scores, difference);
  for (const nlohmann::json& entry : result.skipped) {
    report += fmt::format(
        "Skipped {} potential negatives ({:.2f}%) due to the {} of {}.\n",
        with_commas(entry["skipped"].get<int64_t>()), entry["ratio"].get<double>() * 100.0,
        entry["parameter"].get<std::string>(), io::setting_text(entry["value"].get<double>()));
  }
  result.missing_samples = result.maximum_samples - static_cast<int64_t>(result.rows.size());
  if (result.missing_samples > 0) {
    std::vector<std::string> solutions = {"range_max"};
    if (range_min > 0) solutions.emplace_back("range_min");
    if (settings.absolute_margin) solutions.emplace_back("absolute_margin");
    if (settings.relative_margin) solutions.emplace_back("relative_margin");
    if (settings.max_score) solutions.emplace_back("max_score");
    std::string considerations = solutions.back();
    if (solutions.size() > 1) {
      considerations.clear();
      for (size_t i = 0; i + 1 < solutions.size(); ++i)
        considerations += (i ? ", " : "") + solutions[i];
      considerations += " and " + solutions.back();
    }
    report += fmt::format(
        "Could not find enough negatives for {} samples ({:.2f}%). Consider adjusting the {} "
        "parameter{} if you'd like to find more valid negatives.\n",
        result.missing_samples,
        static_cast<double>(result.missing_samples) / static_cast<double>(result.maximum_samples) *
            100.0,
        considerations, solutions.size() > 1 ? "s" : "");
  }
  return result;
}

nlohmann::ordered_json summary_json(const MineResult& result) {
  nlohmann::ordered_json out;
  const std::pair<const char*, const at::Tensor*> parts[] = {
      {"positive", &result.positive_scores},
      {"negative", &result.negative_scores},
      {"difference", &result.difference_scores}};
  for (const auto& [name, scores] : parts) {
    nlohmann::ordered_json stats;
    stats["count"] = scores->numel();
    for (const auto& [key, value] : score_statistics(*scores)) {
      std::string lowered = key;
      for (char& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      stats[lowered] = value && std::isfinite(*value) ? nlohmann::ordered_json(*value)
                                                      : nlohmann::ordered_json(nullptr);
    }
    out[name] = stats;
  }
  out["rows"] = result.rows.size();
  out["columns"] = result.columns;
  out["unique_anchors"] = result.unique_anchors;
  out["range_max"] = result.range_max;
  out["missing_samples"] = result.missing_samples;
  out["maximum_samples"] = result.maximum_samples;
  out["skipped"] = result.skipped;
  out["report"] = result.report;
  return out;
}

void write_mined_jsonl(const fs::path& path, const MineResult& result) {
  std::string text;
  for (const nlohmann::ordered_json& row : result.rows) {
    text += row.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict);
    text += '\n';
  }
  io::write_file_atomic(path, text);
}

}  // namespace embedtune::mining
