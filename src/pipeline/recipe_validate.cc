// Recipe::validate: everything a run checks before any work, the model included.
#include <ATen/Context.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <functional>

#include "data/hub_input.h"
#include "evaluation/model_evaluation.h"
#include "io/atomic_file.h"
#include "io/error.h"
#include "model/sentence_transformer.h"
#include "pipeline/recipe.h"

namespace embedtune::pipeline {
namespace fs = std::filesystem;

void Recipe::validate() {
  if (model.empty()) fail("recipe: 'model' is missing; name a model folder or a Hugging Face id");
  if (output.empty()) fail("recipe: 'output' is missing; name the run folder (e.g. runs/demo)");
  io::check_output_dir(output, "output");
  const bool raw = !data.input.empty();
  const bool prepared = !data_train.empty() || !data_test.empty();
  if (raw == prepared) {
    fail(
        "recipe: give either data.input (a raw dataset) or data.train and data.test (prepare's "
        "splits)");
  }
  if (prepared && (data_train.empty() || data_test.empty()))
    fail("recipe: data.train and data.test go together");
  for (const auto& [key, path] : {std::pair{"data.input", data.input},
                                  {"data.train", data_train},
                                  {"data.test", data_test}}) {
    if (!path.empty() && !data::is_hub_url(path) && !fs::is_regular_file(path)) {
      fail(
          "recipe: {} '{}' is not a file; check the path (relative paths start from the current "
          "folder)",
          key, path);
    }
  }
  if (raw) data.options(fs::path(output) / "data", "recipe", "data.");  // checks the values
  std::sort(dims.begin(), dims.end(), std::greater<>());
  if (std::adjacent_find(dims.begin(), dims.end()) != dims.end())
    fail("recipe: dims: {} is listed twice; list each dimension once",
         *std::adjacent_find(dims.begin(), dims.end()));
  evaluation.config("recipe", "evaluation.");  // checks the values
  evaluation.precision_options("recipe", "evaluation.");
  const SentenceTransformer st = SentenceTransformer::load(model);
  // No dims: the model's dimension and its halvings, as `embedtune evaluate` and `train` pick them
  // (the run records the list it used).
  if (dims.empty()) dims = evaluation::default_dims(st.dimension());
  // dims is sorted largest first: its ends are the values that can be out of range.
  for (const int64_t d : {dims.front(), dims.back()}) {
    if (d < 1 || d > st.dimension()) {
      fail(
          "recipe: dims: expected dimensions in 1..{} (the embedding size of {}), found {}; drop "
          "it, or leave dims out for the model's dimension and its halvings",
          st.dimension(), model, d);
    }
  }
  training.model = model;
  training.output_dir = (fs::path(output) / "model").string();
  if (training.push_to_hub && training.hub_model_id.empty()) {
    // The model folder is always "model": name the repository after the run instead.
    fs::path run = fs::absolute(output).lexically_normal();
    if (run.filename().empty()) run = run.parent_path();
    training.hub_model_id = run.filename().string();
  }
  training.train = (fs::path(output) / "data" / "train.jsonl").string();
  training.eval = (fs::path(output) / "data" / "test.jsonl").string();
  if (!mine_enabled) mine_enabled = mine_section_given;
  training.eval_corpus.clear();
  if (*mine_enabled) {
    mine.validate("recipe: mine.");
    if (mine.output_format != "triplet" && mine.output_format != "n-tuple") {
      fail(
          "recipe: mine.output_format: the run trains on what it mines, so expected triplet or "
          "n-tuple, found '{}'; use `embedtune mine` for the labeled formats",
          mine.output_format);
    }
    // Training reads the mined rows; the evaluation corpus stays prepare's train + test.
    training.train = (fs::path(output) / "data" / "train-mined.jsonl").string();
    training.eval_corpus = (fs::path(output) / "data" / "train.jsonl").string();
  }
  training.matryoshka_dims = dims;
  training.per_device_eval_batch_size = evaluation.batch_size;
  training.query_prompt = evaluation.query_prompt;
  training.query_prompt_name = evaluation.query_prompt_name;
  training.corpus_prompt = evaluation.corpus_prompt;
  training.corpus_prompt_name = evaluation.corpus_prompt_name;
  training.validate();
  if (c10::Device(training.device).is_cuda() && !at::hasCUDA()) {
    fail(
        "recipe: training.device is '{}' but this build or machine has no CUDA; run on a GPU "
        "machine or use --set training.device=cpu",
        training.device);
  }
}

}  // namespace embedtune::pipeline
