// `embedtune evaluate`: retrieval metrics of a model at every Matryoshka dimension.
#include <fmt/format.h>

#include <chrono>

#include "cli/command.h"
#include "cli/model_options.h"
#include "cli/settings_options.h"
#include "data/retrieval_data.h"
#include "evaluation/model_evaluation.h"
#include "evaluation/results_io.h"
#include "io/atomic_file.h"
#include "io/error.h"
#include "io/plural.h"

namespace embedtune::cli {
namespace {

struct EvaluateArgs {
  ModelOptions model;
  std::string train, test, corpus, queries, qrels, output, csv_dir, save_embeddings,
      load_embeddings;
  std::vector<int64_t> dims;
  bool allow_missing_documents = false;
  evaluation::EvaluationSettings settings;  // the same list as a recipe's evaluation: section
};

data::RetrievalData load_data(const EvaluateArgs& args) {
  const bool reference = !args.train.empty() || !args.test.empty();
  const bool beir = !args.corpus.empty() || !args.queries.empty() || !args.qrels.empty();
  if (reference == beir) {
    fail(
        "evaluate: give either --train and --test (prepare's splits) or --corpus, --queries and "
        "--qrels (BEIR layout)");
  }
  if (reference) {
    if (args.train.empty() || args.test.empty()) fail("evaluate: --train and --test go together");
    return data::load_prepared_retrieval_data(args.train, args.test);
  }
  if (args.corpus.empty() || args.queries.empty() || args.qrels.empty()) {
    fail("evaluate: the BEIR layout needs all of --corpus, --queries and --qrels");
  }
  return data::load_beir_retrieval_data(args.corpus, args.queries, args.qrels,
                                        args.allow_missing_documents);
}

void run_evaluate(const EvaluateArgs& args) {
  evaluation::ModelEvaluationOptions options =
      evaluation::ModelEvaluationOptions::from_settings(args.settings, args.dims, "evaluate", "--");
  options.save_embeddings = args.save_embeddings;
  options.load_embeddings = args.load_embeddings;
  // Where the results go is checked before the model is loaded and anything is encoded.
  if (!args.output.empty()) {
    io::check_output_file(args.output, "--output");
    io::check_output_extension(args.output, "--output", ".json", "the metrics as one JSON object");
  }
  if (!args.csv_dir.empty()) io::check_output_dir(args.csv_dir, "--csv-dir");
  if (!args.save_embeddings.empty())
    io::check_output_dir(args.save_embeddings, "--save-embeddings");
  if (auto printer = io::progress_printer("encode")) {
    options.progress = [printer](const std::string&, int64_t done, int64_t total) {
      printer(done, total);
    };
  }
  const data::RetrievalData data = load_data(args);
  SentenceTransformer model = args.model.load();
  const auto start = std::chrono::steady_clock::now();
  const evaluation::IrResults results = evaluation::evaluate_model(model, data, options);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  if (!args.output.empty()) {
    evaluation::write_results_json(args.output, results.metrics);
    const std::filesystem::path csv_dir = args.csv_dir.empty()
                                              ? std::filesystem::absolute(args.output).parent_path()
                                              : std::filesystem::path(args.csv_dir);
    const auto dims =
        options.dims.empty() ? evaluation::default_dims(model.dimension()) : options.dims;
    evaluation::append_matryoshka_csvs(csv_dir, dims, options.csv_config(), results.metrics);
  }
  fmt::print("{}", evaluation::matryoshka_table(results.metrics));
  fmt::print(stderr, "evaluate: {}, {} in {:.1f} s{}\n",
             io::counted(data.query_ids.size(), "query", "queries"),
             io::counted(data.corpus_ids.size(), "document"), seconds,
             args.output.empty() ? "" : fmt::format("; results in {}", args.output));
}

const Register kRegister("evaluate", [](CLI::App& app) {
  auto args = std::make_shared<EvaluateArgs>();
  CLI::App* cmd = app.add_subcommand(
      "evaluate",
      "Retrieval metrics (sentence-transformers' InformationRetrievalEvaluator) at every "
      "Matryoshka dimension, encoding once");
  args->model.add_to(*cmd);
  cmd->add_option("--train", args->train, "prepare's train.jsonl (its positives join the corpus)");
  cmd->add_option("--test", args->test, "prepare's test.jsonl (queries, and corpus positives)");
  cmd->add_option("--corpus", args->corpus, "BEIR corpus.jsonl");
  cmd->add_option("--queries", args->queries, "BEIR queries.jsonl");
  cmd->add_option("--qrels", args->qrels, "BEIR qrels .tsv (score > 0 is relevant)");
  cmd->add_flag("--allow-missing-documents", args->allow_missing_documents,
                "Accept qrels that name documents the corpus lacks, counting them as relevant "
                "but never retrieved (as BEIR does); without it they are an error");
  add_setting_option(*cmd, "dims", args->dims,
                     "Matryoshka dimensions, e.g. 384,256,128,64,32 (default: the model's "
                     "dimension and halvings down to 64; 768,512,256,128,64 for 768-d models)");
  add_setting_options(*cmd, args->settings);
  cmd->add_option("--output", args->output,
                  "results.json (the reference's keys); the evaluator CSV files go beside it");
  cmd->add_option("--csv-dir", args->csv_dir,
                  "Folder for the CSV files (default: beside --output)");
  cmd->add_option("--save-embeddings", args->save_embeddings,
                  "Save the encoded queries/corpus here");
  cmd->add_option("--load-embeddings", args->load_embeddings,
                  "Reuse embeddings saved by --save-embeddings");
  cmd->callback([args] { run_evaluate(*args); });
});

}  // namespace
}  // namespace embedtune::cli
