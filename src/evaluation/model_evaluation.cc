// Evaluating a model on retrieval data: encode once, evaluate every dimension by slicing.
#include "evaluation/model_evaluation.h"

#include <ATen/ATen.h>

#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "evaluation/quantized_evaluation.h"
#include "io/error.h"
#include "io/json.h"
#include "io/npy.h"
#include "io/plural.h"
#include "io/settings.h"

namespace embedtune::evaluation {
namespace fs = std::filesystem;
namespace {

// The data is read straight into the tensor, so a stored corpus is held once, not twice.
at::Tensor load_matrix(const fs::path& path, int64_t rows) {
  const io::NpyHeader header = io::read_npy_header(path);
  if (header.descr != "<f4" || header.shape.size() != 2 || header.shape[0] != rows) {
    fail(
        "{}: expected float32 (<f4) embeddings of shape ({}, D), found {} with {} dims; save "
        "them again with --save-embeddings",
        path.string(), rows, header.descr, header.shape.size());
  }
  at::Tensor out = at::empty({header.shape[0], header.shape[1]}, at::kFloat);
  io::read_npy_data(path, header, out.data_ptr<float>());
  return out;
}

void save_matrix(const fs::path& path, const at::Tensor& matrix) {
  at::Tensor m = matrix.contiguous();
  io::write_npy_f32(path, m.data_ptr<float>(), {m.size(0), m.size(1)});
}

}  // namespace

ModelEvaluationOptions ModelEvaluationOptions::from_settings(const EvaluationSettings& settings,
                                                             std::vector<int64_t> dims,
                                                             std::string_view origin,
                                                             std::string_view key_prefix) {
  ModelEvaluationOptions options;
  options.config = settings.config(origin, key_prefix);
  options.precisions = settings.precision_options(origin, key_prefix);
  options.dims = std::move(dims);
  options.query_prompt = settings.query_prompt;
  options.query_prompt_name = settings.query_prompt_name;
  options.corpus_prompt = settings.corpus_prompt;
  options.corpus_prompt_name = settings.corpus_prompt_name;
  options.batch_size = settings.batch_size;
  options.bf16 = settings.bf16;
  return options;
}

IrEvaluatorConfig ModelEvaluationOptions::csv_config() const {
  IrEvaluatorConfig out = config;
  for (const auto& p : precisions.precisions) {
    if (p != "float32") out.score_functions.push_back(p);
  }
  return out;
}

void check_evaluable(const data::RetrievalData& data) {
  if (data.corpus_ids.empty()) fail("evaluation data: the corpus is empty; nothing to retrieve");
  size_t with_relevant = 0;
  for (const std::string& id : data.query_ids) {
    const auto it = data.relevant.find(id);
    with_relevant += it != data.relevant.end() && !it->second.empty() ? 1 : 0;
  }
  if (with_relevant == 0) {
    fail(
        "evaluation data: expected a query with a relevant document, found none ({} read); check "
        "that the qrels' query ids match the queries' ids",
        io::counted(data.query_ids.size(), "query", "queries"));
  }
}

std::vector<int64_t> default_dims(int64_t model_dimension) {
  if (model_dimension == 768) return {768, 512, 256, 128, 64};
  std::vector<int64_t> dims{model_dimension};
  for (int64_t d = model_dimension; d % 2 == 0 && d / 2 >= 64;) dims.push_back(d /= 2);
  return dims;
}

EncodedRetrieval encode_retrieval(SentenceTransformer& model, const data::RetrievalData& data,
                                  const ModelEvaluationOptions& options) {
  EncodedRetrieval out;
  if (!options.load_embeddings.empty()) {
    if (!fs::is_directory(options.load_embeddings)) {
      fail(
          "{}: expected a folder written by --save-embeddings (ids.json, queries.npy, "
          "corpus.npy), found {}; pass that folder or drop --load-embeddings",
          options.load_embeddings.string(),
          fs::exists(options.load_embeddings) ? "a file" : "nothing");
    }
    const fs::path ids_path = options.load_embeddings / "ids.json";
    const nlohmann::json ids = io::read_json_file(ids_path);
    if (!ids.is_object() ||
        ids.value("query_ids", nlohmann::json()) != nlohmann::json(data.query_ids) ||
        ids.value("corpus_ids", nlohmann::json()) != nlohmann::json(data.corpus_ids)) {
      fail(
          "{}: the saved embeddings are for other queries or corpus ids than this data; encode "
          "again (drop --load-embeddings) or pass the data they were saved with",
          ids_path.string());
    }
    out.queries = load_matrix(options.load_embeddings / "queries.npy", data.query_ids.size());
    out.corpus = load_matrix(options.load_embeddings / "corpus.npy", data.corpus_ids.size());
    return out;
  }
  auto encode = [&](const std::vector<std::string>& texts, const std::string& prompt,
                    EncodeTask task, const std::string& label) {
    EncodeOptions encode_options;
    encode_options.batch_size = options.batch_size;
    encode_options.prompt = prompt;
    encode_options.task = task;
    encode_options.bf16 = options.bf16;
    encode_options.shard_index = options.shard_index;
    encode_options.shard_count = options.shard_count;
    if (options.progress) {
      encode_options.progress = [&](int64_t done, int64_t total) {
        options.progress(label, done, total);
      };
    }
    at::Tensor embeddings = model.encode(texts, encode_options);
    if (options.shard_count > 1) {
      TORCH_INTERNAL_ASSERT(options.combine_shards, "shard_count > 1 without combine_shards");
      options.combine_shards(embeddings);
    }
    return embeddings;
  };
  // As ST's InformationRetrievalEvaluator: queries through encode_query, the corpus through
  // encode_document, each with the evaluator's prompt or prompt name (an empty one: none given).
  const auto given = [](const std::string& value) {
    return value.empty() ? std::nullopt : std::optional(value);
  };
  const std::string query_prompt = model.resolve_prompt(
      given(options.query_prompt), given(options.query_prompt_name), EncodeTask::kQuery);
  const std::string corpus_prompt = model.resolve_prompt(
      given(options.corpus_prompt), given(options.corpus_prompt_name), EncodeTask::kDocument);
  out.queries = encode(data.query_texts, query_prompt, EncodeTask::kQuery, "queries");
  out.corpus = encode(data.corpus_texts, corpus_prompt, EncodeTask::kDocument, "corpus");
  if (!options.save_embeddings.empty()) {
    fs::create_directories(options.save_embeddings);
    save_matrix(options.save_embeddings / "queries.npy", out.queries);
    save_matrix(options.save_embeddings / "corpus.npy", out.corpus);
    io::write_json_file_atomic(options.save_embeddings / "ids.json",
                               {{"query_ids", data.query_ids}, {"corpus_ids", data.corpus_ids}});
  }
  return out;
}

IrResults evaluate_model(SentenceTransformer& model, const data::RetrievalData& data,
                         const ModelEvaluationOptions& options) {
  // Everything that can fail is checked before the encoding, which is most of the work.
  std::vector<int64_t> dims = options.dims.empty() ? default_dims(model.dimension()) : options.dims;
  std::set<int64_t> seen;
  for (int64_t d : dims) {
    if (d < 1 || d > model.dimension()) {
      fail("--dims: dimension {} is out of range; expected 1..{} (the model's embedding dimension)",
           d, model.dimension());
    }
    if (!seen.insert(d).second) fail("--dims: dimension {} is listed twice; list it once", d);
  }
  options.config.validate();
  options.precisions.validate();
  check_evaluable(data);
  EncodedRetrieval encoded = encode_retrieval(model, data, options);
  return evaluate_matryoshka(encoded.queries, encoded.corpus, data.query_ids, data.corpus_ids,
                             data.relevant, dims, options.config, options.precisions);
}

}  // namespace embedtune::evaluation
