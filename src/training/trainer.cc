// Trainer: data, the optimizer step, evaluation, checkpoints and the final model; mirrors
// transformers 5.24 Trainer._inner_training_loop / _run_epoch / _maybe_log_save_evaluate.
#include "training/trainer.h"

#include <ATen/ATen.h>
#include <ATen/Context.h>
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <ctime>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>

#include "data/records.h"
#include "data/retrieval_data.h"
#include "distributed/world.h"
#include "evaluation/information_retrieval_evaluator.h"
#include "evaluation/model_evaluation.h"
#include "hub/upload.h"
#include "io/atomic_file.h"
#include "io/checksum.h"
#include "io/error.h"
#include "io/file.h"
#include "io/plural.h"
#include "losses/cached_multiple_negatives_ranking_loss.h"
#include "losses/loss.h"
#include "model/libtorch_version.h"
#include "model/packed_batch.h"
#include "model/sentence_transformer.h"
#include "model/weights.h"
#include "tokenizer/tokenizer.h"
#include "training/adamw.h"
#include "training/batch_sampler.h"
#include "training/distributed_evaluation.h"
#include "training/lr_schedule.h"
#include "training/model_card.h"
#include "training/progress.h"
#include "training/step_graphs.h"
#include "training/step_profiler.h"
#include "training/step_timer.h"

namespace embedtune::training {
namespace fs = std::filesystem;
namespace {

std::atomic<int> g_stop_signal{0};

void on_signal(int signal_number) {
  if (g_stop_signal.exchange(signal_number) != 0) {
    // A second signal: give up on the clean stop.
    std::signal(signal_number, SIG_DFL);
    std::raise(signal_number);
  }
}

// Installs the SIGINT/SIGTERM handlers for the lifetime of the guard.
class SignalGuard {
 public:
  explicit SignalGuard(bool enabled) : enabled_(enabled) {
    if (!enabled_) return;
    struct sigaction action{};
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
  }
  ~SignalGuard() {
    if (!enabled_) return;
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }

 private:
  bool enabled_;
  struct sigaction old_int_{}, old_term_{};
};

// Parameters AdamW updates, with transformers' weight-decay mask. The pooler is left out:
// sentence-transformers never uses its output, so it never has a gradient (and torch's AdamW
// skips parameters without one).
struct Parameters {
  std::vector<at::Tensor> tensors;
  std::vector<bool> decay;
};

Parameters trainable_parameters(torch::nn::Module& bert) {
  Parameters out;
  const std::vector<bool> mask = decay_mask(bert);
  const auto named = bert.named_parameters();
  TORCH_INTERNAL_ASSERT(mask.size() == named.size());
  for (size_t i = 0; i < named.size(); ++i) {
    if (named[i].key().rfind("pooler.", 0) == 0) {
      named[i].value().set_requires_grad(false);
      continue;
    }
    out.tensors.push_back(named[i].value());
    out.decay.push_back(mask[i]);
  }
  return out;
}

// Settings that only decide what is evaluated, logged or kept on disk: a resumed run may change
// them. Every other training argument changes what training computes.
constexpr const char* kFreeOnResume[] = {"train",
                                         "eval",
                                         "eval_corpus",
                                         "query_prompt",
                                         "query_prompt_name",
                                         "corpus_prompt",
                                         "corpus_prompt_name",
                                         "output_dir",
                                         "per_device_eval_batch_size",
                                         "eval_strategy",
                                         "save_strategy",
                                         "eval_steps",
                                         "save_steps",
                                         "logging_steps",
                                         "save_total_limit",
                                         "ddp_timeout",
                                         "push_to_hub",
                                         "hub_model_id",
                                         "hub_private_repo",
                                         "load_best_model_at_end",
                                         "eval_on_start",
                                         "metric_for_best_model",
                                         "greater_is_better",
                                         "resume_from_checkpoint"};

// What a resumed run must share with the run that wrote a checkpoint for the result to be the
// one an uninterrupted run gives: every setting outside kFreeOnResume, and the training data
// (its checksum: the file may move, its rows may not change).
nlohmann::json resume_settings(const TrainingArguments& args, uint64_t train_checksum,
                               int world_size) {
  nlohmann::json settings = nlohmann::json::object();
  // Several processes: each trains on its share of the batches, so the share must not change.
  if (world_size > 1) settings["world_size"] = world_size;
  for (const auto& [key, value] : io::setting_values(args)) {
    if (std::find(std::begin(kFreeOnResume), std::end(kFreeOnResume), key) ==
        std::end(kFreeOnResume))
      settings[key] = value;
  }
  return {{"settings", settings}, {"train_xxh64", fmt::format("{:016x}", train_checksum)}};
}

void check_resume_settings(const nlohmann::json& recorded, const nlohmann::json& now,
                           const fs::path& checkpoint) {
  const fs::path file = checkpoint / kResumeName;
  if (!recorded.contains("settings") || !recorded["settings"].is_object() ||
      !recorded.contains("train_xxh64")) {
    fail("{}: expected {{\"settings\", \"train_xxh64\"}}; pick another checkpoint", file.string());
  }
  // A setting newer than the checkpoint passes at its default, which is what the run that wrote it
  // did.
  const nlohmann::json defaults = resume_settings(TrainingArguments(), 0, 1)["settings"];
  for (const auto& [key, value] : now["settings"].items()) {
    const auto it = recorded["settings"].find(key);
    if (it == recorded["settings"].end() && defaults.contains(key) && defaults[key] == value)
      continue;
    const std::string then = it == recorded["settings"].end() ? "(not recorded)" : it->dump();
    if (it == recorded["settings"].end() || *it != value) {
      fail(
          "{}: the checkpoint was trained with {} = {}, this run has {}; a resumed run must use "
          "the settings that wrote the checkpoint (change only evaluation, logging and saving "
          "settings), or start a new output_dir",
          checkpoint.string(), key, then, value.dump());
    }
  }
  // A checkpoint of several processes records its world_size; one process records none.
  if (recorded["settings"].contains("world_size") && !now["settings"].contains("world_size")) {
    fail(
        "{}: the checkpoint was trained with world_size = {}, this run has 1 process; resume "
        "under torchrun with --nproc-per-node {} (in all), or start a new output_dir",
        checkpoint.string(), recorded["settings"]["world_size"].dump(),
        recorded["settings"]["world_size"].dump());
  }
  if (recorded["train_xxh64"] != now["train_xxh64"]) {
    fail(
        "{}: the checkpoint was trained on other data (train.jsonl's checksum differs); resume "
        "with the same training file, or start a new output_dir",
        checkpoint.string());
  }
}

// Keeps the lines of log.jsonl up to `step` (what the checkpoint's run had logged).
void truncate_log(const fs::path& log, int64_t step) {
  std::error_code ec;
  if (!fs::exists(log, ec)) return;
  std::istringstream in(io::read_file(log));
  std::string kept, line;
  while (std::getline(in, line)) {
    try {
      const nlohmann::json entry = nlohmann::json::parse(line);
      if (entry.value("step", int64_t{0}) > step) continue;
    } catch (const nlohmann::json::exception&) {
      continue;  // a line cut short by the kill that interrupted the run
    }
    kept += line + "\n";
  }
  io::write_file_atomic(log, kept);
}

// Writes the final model into output_dir beside the checkpoints (SentenceTransformer::save
// replaces its folder whole, so it is built in a staging folder and moved in file by file). The
// files a loader starts from (config.json, modules.json) are removed first and moved in last, so
// a crash mid-way leaves a folder that refuses to load, never a mix of two models. If the write
// fails (a full disk) and no checkpoint holds these weights, they are written to a rescue folder
// in the system temp folder, so finished training is not lost; the Error says where.
void write_final_model(const SentenceTransformer& model, const fs::path& output_dir,
                       const std::optional<fs::path>& same_weights_checkpoint) {
  const fs::path staging = io::staging_path(output_dir / "final-model", "tmp");
  std::error_code ec;
  std::string why;
  try {
    model.save(staging);
    for (const char* entry_point : {"modules.json", "config.json"})
      fs::remove(output_dir / entry_point);
    std::vector<fs::path> last;
    for (const auto& entry : fs::directory_iterator(staging)) {
      const std::string name = entry.path().filename().string();
      if (name == "modules.json" || name == "config.json") {
        last.push_back(entry.path());
        continue;
      }
      const fs::path target = output_dir / name;
      if (fs::is_directory(target)) fs::remove_all(target);
      fs::rename(entry.path(), target);
    }
    for (const fs::path& path : last) fs::rename(path, output_dir / path.filename());
    fs::remove_all(staging);
    return;
  } catch (const fs::filesystem_error& e) {
    why = e.code().message();
  } catch (const Error& e) {
    why = e.what();
  }
  fs::remove_all(staging, ec);
  if (same_weights_checkpoint) {
    fail(
        "{}: the final model could not be written ({}); {} holds the same weights: free disk "
        "space and run the same command with --resume_from_checkpoint last to write it",
        output_dir.string(), why, same_weights_checkpoint->string());
  }
  const fs::path rescue = fs::temp_directory_path() /
                          fmt::format("embedtune-rescued-model-{}-{}", ::getpid(), ::time(nullptr));
  try {
    model.save(rescue);
  } catch (const std::exception& e) {
    fail(
        "{}: the final model could not be written ({}), nor rescued to {} ({}); the training "
        "is lost: free disk space and train again",
        output_dir.string(), why, rescue.string(), e.what());
  }
  fail(
      "{}: the final model could not be written ({}); the trained model was saved to {} "
      "instead: move that folder where you want it",
      output_dir.string(), why, rescue.string());
}

// tf32: TF32 matrix multiplications on CUDA (cuBLAS and cuDNN, as transformers sets
// torch.backends.{cuda.matmul,cudnn}.allow_tf32) while training runs, then the previous settings.
// Never on the CPU, where the same setting would change oneDNN's fp32 GEMMs.
class Tf32Guard {
 public:
  explicit Tf32Guard(bool enabled) : enabled_(enabled) {
    if (!enabled_) return;
    auto& context = at::globalContext();
    cublas_ = context.allowTF32CuBLAS();
    cudnn_ = context.allowTF32CuDNN();
    context.setAllowTF32CuBLAS(true);
    context.setAllowTF32CuDNN(true);
  }
  ~Tf32Guard() {
    if (!enabled_) return;
    at::globalContext().setAllowTF32CuBLAS(cublas_);
    at::globalContext().setAllowTF32CuDNN(cudnn_);
  }
  Tf32Guard(const Tf32Guard&) = delete;
  Tf32Guard& operator=(const Tf32Guard&) = delete;

 private:
  bool enabled_;
  bool cublas_ = false, cudnn_ = false;
};

// The sentence embeddings of every column for the rows of one batch, (B, D) each. Separate, as
// sentence-transformers 6.2's embed_columns: the anchor column in its own forward, the candidate
// columns (positive, negatives...) together in one forward when there are two or more of them,
// laid out as its merge_feature_batches pads them (column after column, each padded on the
// tokenizer's side to its own longest, then on the right to the longest of all). Only dropout can
// tell the layouts apart: it is drawn over the padded batch. `together` puts the anchors in that
// one forward too: the same embeddings up to rounding and dropout's draws, with half the kernel
// launches and twice the rows per matrix product. With `bf16`, each forward is forward_mixed's,
// as each model(features) call of ST's runs under accelerate's mixed precision.
std::vector<at::Tensor> embed_columns(SentenceTransformer& model, const TokenColumns& ids,
                                      c10::Device device, bool bf16, bool together) {
  std::vector<at::Tensor> out;
  if (!together) {
    out.push_back(
        model.forward_mixed(PackedBatch::from_ids(ids[0], device, model.pads_left()), bf16));
  }
  // With one column, pad_before is the layout from_ids would give it anyway.
  std::vector<const std::vector<int32_t>*> merged;
  std::vector<int64_t> pad_before;
  for (size_t c = together ? 0 : 1; c < ids.size(); ++c) {
    size_t longest = 0;
    for (const auto* seq : ids[c]) longest = std::max(longest, seq->size());
    for (const auto* seq : ids[c]) {
      merged.push_back(seq);
      pad_before.push_back(model.pads_left() ? static_cast<int64_t>(longest - seq->size()) : 0);
    }
  }
  const at::Tensor embeddings = model.forward_mixed(
      PackedBatch::from_ids(merged, device, model.pads_left(), 0, pad_before), bf16);
  for (const at::Tensor& part : embeddings.split(static_cast<int64_t>(ids[0].size())))
    out.push_back(part);
  return out;
}

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

struct Trainer::Impl {
  TrainerOptions options;
  TrainerCallbacks callbacks;

  std::optional<SentenceTransformer> model;
  c10::Device device = c10::Device(c10::kCPU);
  bool columns_together = false;  // column_forwards, resolved for the device
  std::vector<std::string> columns;
  std::vector<std::vector<std::string>> rows;             // rows[r][c]
  std::vector<std::vector<std::vector<int32_t>>> tokens;  // tokens[c][r]
  // GISTEmbedLoss: the guide model (eval mode, no gradients) and, when it cannot read the model's
  // token ids (another vocabulary, or a shorter max_seq_length), the texts tokenized its own way.
  std::optional<SentenceTransformer> guide;
  std::vector<std::vector<std::vector<int32_t>>> guide_tokens;
  std::optional<data::RetrievalData> eval_data;
  LossConfig loss;
  std::unique_ptr<BatchSampler> sampler;
  SchedulerType scheduler = SchedulerType::kLinear;
  StepPlan plan{};
  int64_t warmup_steps = 0;
  std::vector<at::Tensor> parameters;  // every trainable parameter, for clipping
  std::unique_ptr<AdamW> optimizer;
  std::mt19937_64 engine;
  uint64_t train_checksum = 0;  // XXH64 of the training file, recorded in checkpoints
  // Several processes (torchrun, srun): the c10d group, and the averaging of gradients. Null alone.
  distributed::World* world = nullptr;
  std::unique_ptr<distributed::GradientReducer> reducer;
  // cuda_graphs: the steps' layouts and graphs. Null without.
  std::unique_ptr<StepGraphs> graphs;

  int world_size() const { return world != nullptr ? world->size() : 1; }
  // Rank 0 (or the only process) writes files and prints; the others only compute.
  bool is_main() const { return world == nullptr || world->is_main(); }
  // This rank's share of an epoch's global batches, as accelerate's BatchSamplerShard with
  // even_batches=False and drop_last: global batch i goes to rank i % W, and only full rounds of W
  // batches are used, so every rank runs the same number of steps.
  std::vector<std::vector<int64_t>> shard(std::vector<std::vector<int64_t>> batches) const {
    if (world == nullptr) return batches;
    std::vector<std::vector<int64_t>> mine;
    const size_t rounds = batches.size() / static_cast<size_t>(world->size());
    for (size_t round = 0; round < rounds; ++round)
      mine.push_back(std::move(batches[round * world->size() + world->rank()]));
    return mine;
  }
};

Trainer::Trainer(TrainingArguments args, TrainerOptions options, TrainerCallbacks callbacks)
    : impl_(std::make_unique<Impl>()), args_(std::move(args)) {
  args_.validate();
  Impl& m = *impl_;
  m.options = options;
  m.options.eval_config.validate();
  m.callbacks = std::move(callbacks);
  m.world = distributed::connect_world(std::chrono::seconds(args_.ddp_timeout),
                                       c10::Device(args_.device).is_cuda());
  if (m.world != nullptr) {
    if (!m.world->is_main()) {
      m.options.log_lines = false;
      m.options.progress_bar = false;
    }
    // As sentence-transformers' training arguments under DDP.
    if (!args_.dataloader_drop_last) {
      args_.dataloader_drop_last = true;
      if (m.world->is_main())
        fmt::print(
            stderr,
            "train: {} processes: dataloader_drop_last set to true, as sentence-transformers "
            "does, so every process gets whole batches\n",
            m.world->size());
    }
  }
  m.device = c10::Device(args_.device);
  // Several processes on GPUs: each on its own, LOCAL_RANK's (the group's device).
  if (m.world != nullptr && m.device.is_cuda()) m.device = m.world->device();
  m.columns_together = args_.column_forwards == "together" ||
                       (args_.column_forwards == "auto" && m.device.is_cuda());
  if (m.device.is_cuda() && !at::hasCUDA()) {
    fail(
        "training arguments: device: expected an available device, found '{}' but this build or "
        "machine has "
        "no CUDA; use device: cpu",
        args_.device);
  }

  io::check_output_dir(args_.output_dir, "output_dir");
  m.model.emplace(SentenceTransformer::load(args_.model, c10::Device(c10::kCPU)));
  if (args_.matryoshka_dims.empty()) {
    args_.matryoshka_dims = evaluation::default_dims(m.model->dimension());
    args_.validate();  // what depends on the dims
  }
  if (!args_.metric_for_best_model.empty()) {
    const std::vector<std::string> valid = args_.eval_metric_keys(m.options.eval_config);
    if (std::find(valid.begin(), valid.end(), args_.metric_for_best_model) == valid.end()) {
      fail(
          "training arguments: metric_for_best_model: expected a key the evaluation logs, found "
          "'{}'{}",
          args_.metric_for_best_model, io::did_you_mean(args_.metric_for_best_model, valid));
    }
  }
  // GISTEmbedLoss's guide exists before the trainer seeds too (building its modules draws from
  // the generator, as the model's do).
  const std::string& used_loss = args_.loss == "MatryoshkaLoss" ? args_.inner_loss : args_.loss;
  if (used_loss == "GISTEmbedLoss" || used_loss == "CachedGISTEmbedLoss")
    m.guide.emplace(SentenceTransformer::load(args_.guide_model, c10::Device(c10::kCPU)));
  // As transformers' Trainer.__init__: set_seed(args.seed), once the model exists (building the
  // modules draws from the generator before the weights are loaded over them).
  at::manual_seed(static_cast<uint64_t>(args_.seed));
  m.engine.seed(static_cast<uint64_t>(args_.seed));
  if (args_.max_seq_length > 0) m.model->set_max_seq_length(args_.max_seq_length);
  if (m.device.is_cuda()) m.model->to(m.device);

  m.loss.loss = args_.loss;
  m.loss.inner_loss = args_.inner_loss;
  m.loss.mini_batch_size = args_.mini_batch_size;
  m.loss.scale = args_.scale;
  m.loss.similarity = parse_similarity(args_.similarity_fct);
  m.loss.gather_across_devices = args_.gather_across_devices;
  m.loss.gist.temperature = args_.temperature;
  m.loss.gist.margin_strategy = args_.margin_strategy;
  m.loss.gist.margin = args_.margin;
  m.loss.gist.contrast_anchors = args_.contrast_anchors;
  m.loss.gist.contrast_positives = args_.contrast_positives;
  m.loss.matryoshka.dims = args_.matryoshka_dims;
  m.loss.matryoshka.weights = args_.matryoshka_weights;
  m.loss.matryoshka.n_dims_per_step = args_.n_dims_per_step;
  for (int64_t d : args_.matryoshka_dims) {
    if (d > m.model->dimension()) {
      fail(
          "training arguments: matryoshka_dims: expected dimensions <= {} (the embedding size of "
          "{}), found {}; drop it from matryoshka_dims, or leave matryoshka_dims out for the "
          "model's dimension and its halvings",
          m.model->dimension(), args_.model, d);
    }
  }
  m.loss.validate(m.model->dimension());

  // Training rows: the columns in loss order, each a string.
  data::InvalidRows invalid(args_.train, false, "fix the row");
  const std::vector<data::Record> records =
      data::read_records(args_.train, data::DataFormat::kJsonLines, invalid);
  if (records.empty())
    fail("{}: no training rows; run `embedtune prepare` to make train.jsonl", args_.train);
  m.train_checksum = io::xxh64_file(args_.train);
  m.columns = args_.train_columns;
  if (m.columns.empty()) {
    // prepare's pairs, mine's triplets {anchor, positive, negative} or its n-tuples {anchor,
    // positive, negative_1..negative_n}: every column goes to the loss, as ST's trainer does.
    const nlohmann::json& first = records.front().columns;
    for (const char* labeled : {"label", "labels", "score"}) {
      if (first.contains(labeled) && !first.contains("negative") && !first.contains("negative_1")) {
        fail(
            "{}:{}: the rows carry \"{}\": a labeled format (mine --output_format labeled-pair or "
            "labeled-list) is for cross-encoder losses, not MultipleNegativesRankingLoss; mine "
            "with --output_format triplet or n-tuple, or set train_columns",
            args_.train, records.front().line, labeled);
      }
    }
    m.columns = {"anchor", "positive"};
    if (first.contains("negative")) m.columns.push_back("negative");
    for (int i = 1; first.contains(fmt::format("negative_{}", i)); ++i)
      m.columns.push_back(fmt::format("negative_{}", i));
  }
  m.rows = data::text_fields(args_.train, records, m.columns, "set train_columns");
  // One column's texts, in row order.
  const auto column_texts = [&m](size_t c) {
    std::vector<std::string> texts;
    texts.reserve(m.rows.size());
    for (const auto& row : m.rows) texts.push_back(row[c]);
    return texts;
  };
  m.tokens.assign(m.columns.size(), {});
  for (size_t c = 0; c < m.columns.size(); ++c)
    m.tokens[c] = m.model->tokenize_all(column_texts(c));
  if (m.loss.uses_guide()) {
    TORCH_INTERNAL_ASSERT(m.guide.has_value());
    m.guide->encoder().eval();
    for (auto& parameter : m.guide->encoder().parameters()) parameter.set_requires_grad(false);
    if (m.device.is_cuda()) m.guide->to(m.device);
    // As ST's GISTEmbedLoss: the guide reads the model's token ids when it shares the vocabulary
    // and reads at least as many tokens; else ST decodes them and tokenizes the text again, where
    // embedtune tokenizes the original text with the guide (the same text unless the model's
    // tokenizer changes it, e.g. by lowercasing).
    const Tokenizer& a = m.model->tokenizer();
    const Tokenizer& b = m.guide->tokenizer();
    bool same_vocab = a.vocab_size() == b.vocab_size();
    for (size_t id = 0; same_vocab && id < a.vocab_size(); ++id) {
      same_vocab =
          a.id_to_token(static_cast<int32_t>(id)) == b.id_to_token(static_cast<int32_t>(id));
    }
    if (!same_vocab || m.guide->max_seq_length() < m.model->max_seq_length()) {
      m.guide_tokens.assign(m.columns.size(), {});
      for (size_t c = 0; c < m.columns.size(); ++c)
        m.guide_tokens[c] = m.guide->tokenize_all(column_texts(c));
    }
  }
  if (!args_.eval.empty()) {
    // The corpus is prepare's train + test positives, whatever rows training reads: a mined file
    // repeats or drops pairs and has no ids, so it names the prepared split with eval_corpus.
    const std::string corpus_split = args_.eval_corpus.empty() ? args_.train : args_.eval_corpus;
    if (args_.eval_corpus.empty() && !records.front().columns.contains("id")) {
      fail(
          "{}:{}: expected an \"id\" field to build the evaluation corpus from, found none (a "
          "mined file?); set eval_corpus to the train.jsonl prepare wrote",
          args_.train, records.front().line);
    }
    m.eval_data = data::load_prepared_retrieval_data(corpus_split, args_.eval);
  }

  m.sampler = make_batch_sampler(args_.batch_sampler, m.rows, args_.per_device_train_batch_size,
                                 args_.dataloader_drop_last, static_cast<uint64_t>(args_.seed));
  // MultipleNegativesRankingLoss learns from the other rows of a batch (and hard negatives). A
  // batch of one row without negatives has loss 0 and gradient 0; when every batch is like that
  // (one training row, batch size 1, or rows that are all duplicates under no_duplicates),
  // training would change nothing while reporting success.
  if (m.columns.size() < 3) {
    const auto first_epoch = m.sampler->batches(0);
    const bool any_learns = std::any_of(first_epoch.begin(), first_epoch.end(),
                                        [](const auto& batch) { return batch.size() >= 2; });
    if (!any_learns) {
      fail(
          "{}: every batch has a single row ({}, per_device_train_batch_size {}, batch_sampler "
          "{}), so MultipleNegativesRankingLoss has no negatives and the loss is 0; use more "
          "distinct pairs, a batch size of at least 2, or a negative column",
          args_.train, io::counted(m.rows.size(), "training row"),
          args_.per_device_train_batch_size, args_.batch_sampler);
    }
  }
  if (m.world != nullptr && m.sampler->num_batches() < m.world->size()) {
    fail(
        "training arguments: per_device_train_batch_size: {} processes need at least {} batches "
        "of {} rows, found {}; lower the batch size or use fewer processes",
        m.world->size(), m.world->size(), args_.per_device_train_batch_size,
        io::counted(m.rows.size(), "training row"));
  }
  if (m.sampler->num_batches() == 0) {
    fail(
        "training arguments: per_device_train_batch_size: expected at most {} (the training rows) "
        "with dataloader_drop_last, found {}; lower the batch size",
        m.rows.size(), args_.per_device_train_batch_size);
  }
  m.scheduler = parse_scheduler(args_.lr_scheduler_type);
  m.plan = plan_steps(m.sampler->num_batches() / m.world_size(), args_.gradient_accumulation_steps,
                      args_.num_train_epochs, args_.max_steps);
  m.warmup_steps = warmup_steps_for(args_.warmup_ratio, args_.warmup_steps, m.plan.total_steps);

  Parameters parameters = trainable_parameters(m.model->encoder());
  m.parameters = parameters.tensors;
  m.optimizer = std::make_unique<AdamW>(parameters.tensors, args_.adam_beta1, args_.adam_beta2,
                                        args_.adam_epsilon, args_.weight_decay, parameters.decay);
  if (m.world != nullptr) {
    // As DistributedDataParallel's constructor: every rank starts from rank 0's weights.
    std::vector<at::Tensor> state;
    for (const at::Tensor& p : m.model->encoder().parameters()) state.push_back(p.detach());
    for (const at::Tensor& b : m.model->encoder().buffers()) state.push_back(b);
    m.world->broadcast(state, 0);
    m.reducer = std::make_unique<distributed::GradientReducer>(*m.world, m.parameters);
  }
  if (args_.cuda_graphs) {
    // EMBEDTUNE_GRAPH_REHEARSAL=1 runs the graph layout eagerly on the CPU (the tests' way in).
    const char* rehearsal = std::getenv("EMBEDTUNE_GRAPH_REHEARSAL");
    const bool rehearse =
        !m.device.is_cuda() && rehearsal != nullptr && std::string_view(rehearsal) == "1";
    if (!m.device.is_cuda() && !rehearse) {
      fail(
          "training arguments: cuda_graphs: expected a CUDA device, found device: {}; set "
          "device: cuda or cuda_graphs: false",
          args_.device);
    }
    if (m.world != nullptr) {
      fail(
          "training arguments: cuda_graphs: expected one process, found {} (a graph cannot hold "
          "the gradient exchange); set cuda_graphs: false",
          m.world->size());
    }
    m.graphs = std::make_unique<StepGraphs>(
        *m.model, m.loss, m.engine, StepGraphOptions{.bf16 = args_.bf16, .rehearse = rehearse});
  }
}

Trainer::~Trainer() = default;

SentenceTransformer& Trainer::model() { return *impl_->model; }
int64_t Trainer::num_train_rows() const { return static_cast<int64_t>(impl_->rows.size()); }

void Trainer::request_stop(int signal_number) {
  g_stop_signal.store(signal_number == 0 ? SIGINT : signal_number);
}

std::vector<std::pair<std::string, double>> Trainer::evaluate() {
  Impl& m = *impl_;
  if (!m.eval_data)
    fail(
        "training arguments: eval: expected a test.jsonl to evaluate on, found nothing; set eval:");
  evaluation::ModelEvaluationOptions options;
  options.config = m.options.eval_config;
  options.dims = args_.matryoshka_dims;
  options.batch_size = args_.per_device_eval_batch_size;
  options.query_prompt = args_.query_prompt;
  options.query_prompt_name = args_.query_prompt_name;
  options.corpus_prompt = args_.corpus_prompt;
  options.corpus_prompt_name = args_.corpus_prompt_name;
  options.bf16 = m.options.eval_bf16;
  if (m.world != nullptr) share_evaluation(options, *m.world);
  const evaluation::IrResults results = evaluation::evaluate_model(*m.model, *m.eval_data, options);
  std::vector<std::pair<std::string, double>> out;
  for (const auto& [key, value] : results.metrics) out.emplace_back("eval_" + key, value);
  return out;
}

namespace {

nlohmann::json scheduler_json(const TrainingArguments& args, const StepPlan& plan, int64_t warmup,
                              int64_t step, SchedulerType type) {
  return {{"lr_scheduler_type", args.lr_scheduler_type},
          {"base_lr", args.learning_rate},
          {"warmup_steps", warmup},
          {"total_steps", plan.total_steps},
          {"last_epoch", step},
          {"_last_lr", args.learning_rate * lr_multiplier(type, step, warmup, plan.total_steps)}};
}

}  // namespace

static void push_final_model(const TrainingArguments& args, const std::string& folder_name);

TrainOutput Trainer::train() {
  Impl& m = *impl_;
  const fs::path output_dir = args_.output_dir;
  if (m.is_main()) {
    fs::create_directories(output_dir);
    io::write_file_atomic(output_dir / "training_args.yaml", args_.to_yaml());
  }

  // State, fresh or from a checkpoint.
  state_ = TrainerState();
  state_.max_steps = m.plan.total_steps;
  state_.num_train_epochs = m.plan.num_epochs;
  state_.logging_steps = args_.logging_steps;
  state_.eval_steps = args_.eval_steps;
  state_.save_steps = args_.save_steps;
  state_.train_batch_size = args_.per_device_train_batch_size;
  int64_t epochs_trained = 0, update_steps_trained = 0;
  // What a killed run left half-written (checkpoint or final-model staging folders) goes first.
  for (const fs::path& stale :
       m.is_main() ? io::clean_stale_staging(output_dir) : std::vector<fs::path>{}) {
    if (m.options.log_lines)
      fmt::print(stderr, "train: cleared {} left by an interrupted write\n", stale.string());
  }
  if (!args_.resume_from_checkpoint.empty()) {
    const fs::path dir =
        args_.resume_from_checkpoint == "last"
            ? last_intact_checkpoint(output_dir,
                                     [](const fs::path& path, const std::string& why) {
                                       fmt::print(stderr, "train: skipping {}: {}\n", path.string(),
                                                  why);
                                     })
            : named_checkpoint(args_.resume_from_checkpoint, output_dir);
    CheckpointContents contents = load_checkpoint(dir, m.world != nullptr ? m.world->rank() : 0);
    check_resume_settings(contents.resume, resume_settings(args_, m.train_checksum, m.world_size()),
                          dir);
    load_weights(m.model->encoder(), dir / "model.safetensors");
    m.optimizer->load_state(contents.optimizer);
    contents.rng.restore(m.engine);
    const TrainerState loaded = contents.state;
    state_.global_step = loaded.global_step;
    state_.epoch = loaded.epoch;
    state_.log_history = loaded.log_history;
    state_.best_metric = loaded.best_metric;
    state_.best_global_step = loaded.best_global_step;
    state_.best_model_checkpoint = loaded.best_model_checkpoint;
    state_.total_flos = loaded.total_flos;
    if (state_.best_model_checkpoint && !fs::is_directory(*state_.best_model_checkpoint)) {
      // As transformers: ignore a best checkpoint that is gone.
      state_.best_model_checkpoint.reset();
    }
    // Where the sampler stands is what the checkpoint recorded; it must agree with the step.
    epochs_trained = contents.rng.epoch;
    update_steps_trained = contents.rng.micro_batch / args_.gradient_accumulation_steps;
    if (contents.rng.micro_batch % args_.gradient_accumulation_steps != 0 ||
        epochs_trained * m.plan.steps_per_epoch + update_steps_trained != state_.global_step) {
      fail(
          "{}: rng_state.json says epoch {}, micro-batch {}, which is not step {} of this "
          "schedule; the checkpoint is inconsistent, resume from another one",
          dir.string(), contents.rng.epoch, contents.rng.micro_batch, state_.global_step);
    }
    // The log keeps what happened up to the checkpoint; steps redone after it are logged anew.
    if (m.is_main()) truncate_log(output_dir / "log.jsonl", state_.global_step);
    if (m.is_main())
      fmt::print(stderr, "train: resuming from {} at step {} (epoch {}, step {} of the epoch)\n",
                 dir.string(), state_.global_step, epochs_trained, update_steps_trained);
  } else {
    if (m.is_main()) truncate_log(output_dir / "log.jsonl", -1);  // a fresh start logs anew
  }

  SignalGuard signals(m.options.handle_signals);
  Tf32Guard tf32(args_.tf32 && m.device.is_cuda());
  g_stop_signal.store(0);
  TrainOutput output;
  ProgressReporter progress(
      m.options.progress_bar, m.options.log_lines, m.plan.total_steps, state_.global_step,
      args_.per_device_train_batch_size * args_.gradient_accumulation_steps * m.world_size(),
      m.is_main() ? output_dir / "log.jsonl" : fs::path());
  const double start_time = now_seconds();
  const int64_t initial_step = state_.global_step;
  int64_t last_logged_step = state_.global_step;
  double total_loss_scalar = 0;
  at::Tensor tr_loss = at::zeros({}, at::TensorOptions().dtype(at::kFloat).device(m.device));
  std::optional<double> grad_norm;
  double learning_rate = 0;
  int64_t last_saved_step = -1;
  int64_t final_eval_step = -1;  // the step whose weights output.final_eval evaluated

  auto add_log = [&](nlohmann::json entry) {
    entry["epoch"] = state_.epoch;
    entry["step"] = state_.global_step;
    state_.log_history.push_back(entry);
    progress.log(entry);
    if (m.callbacks.on_log) m.callbacks.on_log(entry);
  };

  auto run_evaluation = [&](bool track_best) {
    const double t0 = now_seconds();
    std::vector<std::pair<std::string, double>> metrics = evaluate();
    output.final_eval = metrics;
    final_eval_step = state_.global_step;
    nlohmann::json entry = nlohmann::json::object();
    for (const auto& [key, value] : metrics) entry[key] = value;
    const double runtime = now_seconds() - t0;
    entry["eval_runtime"] = std::round(runtime * 1e4) / 1e4;
    add_log(entry);
    // transformers' _determine_best_metric.
    if (track_best && !args_.metric_for_best_model.empty()) {
      double value = 0;
      bool found = false;
      for (const auto& [key, v] : metrics) {
        if (key == args_.metric_for_best_model) value = v, found = true;
      }
      TORCH_INTERNAL_ASSERT(found, "metric_for_best_model missing from the evaluation");
      const bool greater = args_.greater_is_better.value_or(true);
      const double best = state_.best_metric.value_or(greater ? -INFINITY : INFINITY);
      if (greater ? value > best : value < best) {
        state_.best_metric = value;
        if (args_.save_strategy != "no") state_.best_global_step = state_.global_step;
      }
    }
  };

  auto save = [&]() -> fs::path {
    // Several processes: rank 0 writes the checkpoint (the weights, optimizer and state are the
    // same on every rank), with every rank's generator state.
    RngState rng = RngState::capture(m.engine, m.device.is_cuda());
    rng.epoch = state_.global_step / m.plan.steps_per_epoch;
    rng.micro_batch =
        (state_.global_step % m.plan.steps_per_epoch) * args_.gradient_accumulation_steps;
    std::vector<std::string> rank_rngs;
    if (m.world != nullptr) rank_rngs = m.world->all_gather_strings(rng.to_file().to_json().dump());
    if (!m.is_main()) {
      last_saved_step = state_.global_step;
      return output_dir / checkpoint_folder_name(state_.global_step);
    }
    if (state_.best_global_step) {
      const fs::path best = output_dir / checkpoint_folder_name(*state_.best_global_step);
      if (*state_.best_global_step == state_.global_step || fs::is_directory(best)) {
        state_.best_model_checkpoint = best.string();
      }
    }
    CheckpointContents contents;
    contents.optimizer = m.optimizer->state();
    contents.scheduler =
        scheduler_json(args_, m.plan, m.warmup_steps, state_.global_step, m.scheduler);
    contents.rng = rng;
    for (size_t r = 1; r < rank_rngs.size(); ++r) {
      contents.other_ranks_rng.push_back(RngState::from_file(RngStateFile::from_json(
          nlohmann::json::parse(rank_rngs[r]), fmt::format("rank {}'s generator state", r))));
    }
    contents.state = state_;
    contents.resume = resume_settings(args_, m.train_checksum, m.world_size());
    const fs::path path = save_checkpoint(output_dir, *m.model, contents);
    last_saved_step = state_.global_step;
    for (const fs::path& removed :
         rotate_checkpoints(output_dir, args_.save_total_limit, state_.best_model_checkpoint)) {
      if (m.options.log_lines)
        fmt::print(stderr, "train: deleted {} (save_total_limit {})\n", removed.string(),
                   args_.save_total_limit);
    }
    return path;
  };

  // _maybe_log_save_evaluate with the flags DefaultFlowCallback sets.
  auto log_save_evaluate = [&](bool should_log, bool should_evaluate, bool should_save) {
    if (should_log && state_.global_step > last_logged_step) {
      const double loss_sum = tr_loss.item<double>();
      tr_loss.zero_();
      nlohmann::json entry;
      entry["loss"] = loss_sum / static_cast<double>(state_.global_step - last_logged_step);
      if (grad_norm) entry["grad_norm"] = *grad_norm;
      entry["learning_rate"] = learning_rate;
      total_loss_scalar += loss_sum;
      last_logged_step = state_.global_step;
      add_log(entry);
    }
    if (should_evaluate) run_evaluation(true);
    if (should_save) save();
  };

  // As transformers' eval_on_start: logged at the starting step, never a best-model candidate.
  if (args_.eval_on_start) run_evaluation(false);
  m.model->encoder().train();  // dropout on, as Trainer.training_step's model.train()
  m.optimizer->zero_grad();
  const int64_t accumulation = args_.gradient_accumulation_steps;
  bool stop = state_.global_step >= m.plan.total_steps;
  StepTimer timer(m.device);
  StepProfiler profiler(m.device, m.is_main());
  for (int64_t epoch = epochs_trained; epoch < m.plan.num_epochs && !stop; ++epoch) {
    const std::vector<std::vector<int64_t>> batches = m.shard(m.sampler->batches(epoch));
    // As transformers: the epoch is len(dataloader) micro-batches; a NoDuplicates epoch that yields
    // more leaves the extra ones unused, one that yields fewer shortens the last group.
    const int64_t steps_in_epoch = m.plan.micro_batches_per_epoch;
    const int64_t available =
        std::min<int64_t>(static_cast<int64_t>(batches.size()), steps_in_epoch);
    int64_t remainder = steps_in_epoch % accumulation;
    if (remainder == 0) remainder = accumulation;
    const int64_t first_update = epoch == epochs_trained ? update_steps_trained : 0;
    // Each epoch's iter(DataLoader) draws the workers' base seed, one int64, from the default
    // generator: drawn here too, so the dropout masks that follow are the ones transformers draws.
    // A run resumed mid-epoch restores the generator as it was after this draw.
    if (first_update == 0) at::empty({}, at::TensorOptions().dtype(at::kLong)).random_();
    for (int64_t update = first_update; update < m.plan.steps_per_epoch && !stop; ++update) {
      int64_t micro = update * accumulation;
      const int64_t group = std::min<int64_t>(
          update != m.plan.steps_per_epoch - 1 ? accumulation : remainder, available - micro);
      if (group <= 0) break;
      timer.begin_step();
      profiler.begin_step(state_.global_step + 1);
      at::Tensor group_loss = at::zeros({}, tr_loss.options());
      for (int64_t i = 0; i < group; ++i, ++micro) {
        const std::vector<int64_t>& rows = batches[micro];
        // Several processes: gradients are averaged across ranks during the group's last
        // backward only (DDP's no_sync for the others). The cached loss runs several backward
        // passes, so its gradients are averaged after them.
        if (m.reducer && i == group - 1 && !m.loss.uses_gradient_cache()) m.reducer->arm();
        TokenColumns ids(m.columns.size());
        for (size_t c = 0; c < m.columns.size(); ++c) {
          ids[c].reserve(rows.size());
          for (int64_t r : rows) ids[c].push_back(&m.tokens[c][r]);
        }
        // The guide's token ids: the model's, or its own tokenization of the same rows.
        const auto guide_ids = [&] {
          TokenColumns guide_ids = ids;
          if (!m.guide_tokens.empty()) {
            for (size_t c = 0; c < m.columns.size(); ++c) {
              for (size_t r = 0; r < rows.size(); ++r)
                guide_ids[c][r] = &m.guide_tokens[c][rows[r]];
            }
          }
          return guide_ids;
        };
        // bf16 as transformers' Trainer applies it through accelerate: autocast around each forward
        // of the trained model only, its output widened to fp32; the loss, and the guide model
        // (which accelerate does not prepare), stay fp32.
        if (m.loss.uses_gradient_cache()) {
          // GradCache does its own backward, mini-batch by mini-batch, scaled as
          // Trainer.training_step scales the loss (below).
          CachedGuide guide;
          if (m.guide) guide = {&*m.guide, guide_ids()};
          at::Tensor loss = cached_loss_backward(
              m.loss, *m.model, ids, 1.0 / static_cast<double>(group), m.engine, guide, args_.bf16);
          if (m.callbacks.on_loss) m.callbacks.on_loss(loss, state_.global_step);
          group_loss += (loss / static_cast<double>(group)).to(at::kFloat);
          timer.end(StepPhase::kBackward);  // its forwards and loss too
          continue;
        }
        if (m.graphs) {
          // The whole step, replayed (or run in the layout a replay has): the gradients are set.
          at::Tensor loss = m.graphs->step(ids);
          if (m.callbacks.on_loss) m.callbacks.on_loss(loss, state_.global_step);
          group_loss += loss.to(at::kFloat);
          timer.end(StepPhase::kBackward);  // its forward and loss too
          continue;
        }
        // The model first, then its guide, as GISTEmbedLoss.forward orders them.
        const std::vector<at::Tensor> embeddings =
            embed_columns(*m.model, ids, m.device, args_.bf16, m.columns_together);
        std::vector<at::Tensor> guide_embeddings;
        if (m.guide) {
          at::NoGradGuard no_grad;
          guide_embeddings =
              embed_columns(*m.guide, guide_ids(), m.device, /*bf16=*/false, m.columns_together);
        }
        timer.end(StepPhase::kForward);
        at::Tensor loss = compute_loss(m.loss, embeddings, m.engine, guide_embeddings);
        if (m.callbacks.on_loss) m.callbacks.on_loss(loss, state_.global_step);
        timer.end(StepPhase::kLoss);
        // Trainer.training_step: loss / current_gradient_accumulation_steps (the group's own
        // length).
        at::Tensor scaled = loss / static_cast<double>(group);
        scaled.backward();
        group_loss += scaled.detach().to(at::kFloat);
        timer.end(StepPhase::kBackward);
      }
      double group_value = group_loss.item<double>();
      if (m.world != nullptr) {
        m.reducer->finish();
        // The loss every rank logs and checks: the mean over ranks (transformers gathers tr_loss
        // and takes its mean), so a non-finite loss on any rank stops them all at the same step.
        std::vector<at::Tensor> shared{at::full({1}, group_value, at::kDouble)};
        m.world->all_reduce_sum(shared);
        group_value = shared[0].item<double>() / m.world->size();
        group_loss.fill_(group_value);
      }
      if (!std::isfinite(group_value)) {
        fail(
            "training stopped at step {} (epoch {:.2f}): the loss is {}; the last checkpoint{} is "
            "intact. "
            "Lower learning_rate, raise warmup or check the data",
            state_.global_step + 1, state_.epoch, group_value,
            last_saved_step >= 0 ? " (" + checkpoint_folder_name(last_saved_step) + ")" : "");
      }
      tr_loss += group_loss;
      timer.end(StepPhase::kLossValue);
      grad_norm.reset();
      if (args_.max_grad_norm > 0) {
        const at::Tensor norm = clip_grad_norm(m.parameters, args_.max_grad_norm);
        if (norm.defined()) grad_norm = norm.item<double>();
        if (grad_norm && !std::isfinite(*grad_norm)) {
          fail(
              "training stopped at step {} (epoch {:.2f}): the gradient norm is {}; the last "
              "checkpoint{} is "
              "intact. Lower learning_rate or check the data",
              state_.global_step + 1, state_.epoch, *grad_norm,
              last_saved_step >= 0 ? " (" + checkpoint_folder_name(last_saved_step) + ")" : "");
        }
      }
      timer.end(StepPhase::kClip);
      learning_rate = args_.learning_rate * lr_multiplier(m.scheduler, state_.global_step,
                                                          m.warmup_steps, m.plan.total_steps);
      m.optimizer->step(learning_rate);
      if (!m.graphs) m.optimizer->zero_grad();  // a graph's gradients stay, set by each step
      timer.end(StepPhase::kOptimizer);
      state_.global_step += 1;
      state_.epoch = static_cast<double>(epoch) +
                     static_cast<double>(micro) / static_cast<double>(steps_in_epoch);
      progress.step(state_.global_step, state_.epoch, group_value, learning_rate);

      // DefaultFlowCallback.on_step_end.
      bool should_log = state_.global_step % args_.logging_steps == 0;
      bool should_evaluate =
          args_.eval_strategy == "steps" && state_.global_step % args_.eval_steps == 0;
      bool should_save =
          args_.save_strategy == "steps" && state_.global_step % args_.save_steps == 0;
      if (state_.global_step >= m.plan.total_steps) {
        stop = true;
        if (args_.eval_strategy == "steps") should_evaluate = true;
        if (args_.save_strategy == "steps") should_save = true;
      }
      log_save_evaluate(should_log, should_evaluate, should_save);

      bool callback_stop = m.callbacks.on_step_end && m.callbacks.on_step_end(state_);
      if (m.world != nullptr) {
        // A stop (Ctrl-C, SIGTERM) seen by any rank stops every rank after the same step.
        std::vector<at::Tensor> flag{
            at::full({1}, (g_stop_signal.load() != 0 || callback_stop) ? 1.0 : 0.0, at::kDouble)};
        m.world->all_reduce_sum(flag);
        callback_stop = flag[0].item<double>() > 0;
      }
      timer.end(StepPhase::kRest);
      profiler.end_step(state_.global_step);
      if ((g_stop_signal.load() != 0 || callback_stop) && !stop) {
        output.interrupted = true;
        output.stop_signal = g_stop_signal.load();
        output.checkpoint = last_saved_step == state_.global_step
                                ? output_dir / checkpoint_folder_name(state_.global_step)
                                : save();
        progress.finish();
        if (m.is_main())
          fmt::print(stderr,
                     "train: stopped at step {}; checkpoint {} written. Resume with "
                     "--resume_from_checkpoint {}\n",
                     state_.global_step, output.checkpoint.string(), output.checkpoint.string());
        output.global_step = state_.global_step;
        return output;
      }
    }
    // DefaultFlowCallback.on_epoch_end (also when max_steps ended the epoch early).
    log_save_evaluate(false, args_.eval_strategy == "epoch", args_.save_strategy == "epoch");
  }
  progress.finish();
  if (m.is_main()) timer.report();
  if (m.graphs && m.is_main()) fmt::print(stderr, "train: CUDA graphs: {}\n", m.graphs->summary());

  // _finalize_training.
  total_loss_scalar += tr_loss.item<double>();
  const int64_t steps_done = state_.global_step - initial_step;
  const double runtime = now_seconds() - start_time;
  nlohmann::json summary;
  summary["train_runtime"] = std::round(runtime * 1e4) / 1e4;
  // As transformers' _inner_training_loop counts num_train_samples for speed_metrics.
  const double samples =
      args_.max_steps > 0
          ? static_cast<double>(args_.max_steps * args_.per_device_train_batch_size *
                                args_.gradient_accumulation_steps * m.world_size())
          : static_cast<double>(m.rows.size()) * args_.num_train_epochs;
  summary["train_samples_per_second"] = std::round(samples / std::max(runtime, 1e-9) * 1e3) / 1e3;
  summary["train_steps_per_second"] = std::round(steps_done / std::max(runtime, 1e-9) * 1e3) / 1e3;
  summary["total_flos"] = 0.0;
  summary["train_loss"] =
      total_loss_scalar / std::max<double>(static_cast<double>(steps_done), 0.001);
  add_log(summary);
  output.metrics = summary;
  output.training_loss = summary["train_loss"].get<double>();
  output.global_step = state_.global_step;
  output.steps_run = steps_done;

  std::optional<int64_t> saved_step;
  output.is_main = m.is_main();
  if (!m.is_main()) return output;  // rank 0 alone loads the best model and writes the result
  if (args_.load_best_model_at_end && state_.best_model_checkpoint) {
    load_weights(m.model->encoder(), fs::path(*state_.best_model_checkpoint) / "model.safetensors");
    saved_step = state_.best_global_step;
    fmt::print(stderr, "train: loaded the best model from {} ({} = {})\n",
               *state_.best_model_checkpoint, args_.metric_for_best_model,
               state_.best_metric.value_or(0));
    // The final evaluation reported is the best checkpoint's, in the evaluator's key order (that
    // of the last evaluation; the log's own order after a resume that evaluated nothing since).
    for (const auto& entry : state_.log_history) {
      if (entry.value("step", int64_t{-1}) != *saved_step ||
          !entry.contains(args_.metric_for_best_model))
        continue;
      std::vector<std::string> keys;
      for (const auto& [key, value] : output.final_eval) keys.push_back(key);
      if (keys.empty()) {
        for (const auto& [key, value] : entry.items()) {
          if (key.rfind("eval_", 0) == 0 && key != "eval_runtime") keys.push_back(key);
        }
      }
      output.final_eval.clear();
      for (const std::string& key : keys) {
        if (entry.contains(key)) output.final_eval.emplace_back(key, entry[key].get<double>());
      }
      final_eval_step = *saved_step;
    }
  }
  output.final_eval_is_saved_model =
      !output.final_eval.empty() && final_eval_step == saved_step.value_or(state_.global_step);
  if (args_.save_total_limit == 1 && state_.best_model_checkpoint) {
    for (const fs::path& checkpoint : sorted_checkpoints(output_dir)) {
      std::error_code ec;
      if (!fs::equivalent(checkpoint, *state_.best_model_checkpoint, ec))
        fs::remove_all(checkpoint);
    }
  }
  if (m.options.save_final_model) {
    write_final_model(
        *m.model, output_dir,
        last_saved_step == state_.global_step
            ? std::optional<fs::path>(output_dir / checkpoint_folder_name(state_.global_step))
            : std::nullopt);

    ModelCardData card;
    card.model_name = fs::absolute(output_dir).lexically_normal().filename().string();
    if (card.model_name.empty())
      card.model_name = fs::absolute(output_dir).parent_path().filename().string();
    card.base_model = args_.model;
    card.embedding_dimension = m.model->dimension();
    card.max_seq_length = m.model->max_seq_length();
    card.architecture = m.model->encoder().architecture();
    const nlohmann::json pooling = m.model->pooling().to_json();
    card.pooling = "mean";
    for (const auto& [key, value] : pooling.items()) {
      if (key.rfind("pooling_mode_", 0) == 0 && value.is_boolean() && value.get<bool>())
        card.pooling = key.substr(13);
    }
    card.normalize = m.model->normalizes();
    card.parameter_count = m.model->parameter_count();
    card.train_file = args_.train;
    card.train_rows = static_cast<int64_t>(m.rows.size());
    card.train_columns = m.columns;
    for (size_t c = 0; c < m.columns.size(); ++c) {
      double total = 0;
      for (const auto& ids : m.tokens[c]) total += static_cast<double>(ids.size());
      card.column_mean_tokens.emplace_back(m.columns[c],
                                           total / static_cast<double>(m.rows.size()));
    }
    card.loss = args_.loss;
    card.inner_loss = args_.inner_loss;
    card.loss_settings["loss"] =
        args_.loss == "MatryoshkaLoss" ? args_.inner_loss : std::string(args_.loss);
    if (args_.loss == "MatryoshkaLoss") {
      card.loss_settings["matryoshka_dims"] = m.loss.matryoshka.dims;
      card.loss_settings["matryoshka_weights"] = m.loss.matryoshka.weights;
      card.loss_settings["n_dims_per_step"] = args_.n_dims_per_step;
    }
    card.loss_settings["scale"] = args_.scale;
    card.loss_settings["similarity_fct"] = similarity_name(m.loss.similarity);
    if (m.loss.uses_gradient_cache()) card.loss_settings["mini_batch_size"] = args_.mini_batch_size;
    if (m.loss.uses_guide()) {
      card.loss_settings.erase("scale");
      card.loss_settings.erase("similarity_fct");
      card.loss_settings["guide"] = args_.guide_model;
      card.loss_settings["temperature"] = args_.temperature;
      card.loss_settings["margin_strategy"] = args_.margin_strategy;
      card.loss_settings["margin"] = args_.margin;
      card.loss_settings["contrast_anchors"] = args_.contrast_anchors;
      card.loss_settings["contrast_positives"] = args_.contrast_positives;
    }
    card.dims = args_.matryoshka_dims;
    card.non_default_hyperparameters = args_.non_defaults();
    card.all_hyperparameters = args_.all_values();
    card.final_metrics = output.final_eval;
    card.log_history = state_.log_history;
    card.saved_step = saved_step;
    card.versions = {{"embedtune", "0.1.0"}, {"LibTorch", TORCH_VERSION}};
    io::write_file_atomic(output_dir / "README.md", render_model_card(card));
    if (args_.push_to_hub) push_final_model(args_, card.model_name);
  }
  return output;
}

// As transformers' Trainer.push_to_hub at the end of training: output_dir without its
// checkpoints, in one commit "End of training".
static void push_final_model(const TrainingArguments& args, const std::string& folder_name) {
  const fs::path output_dir(args.output_dir);
  const hub::HubSettings settings = hub::HubSettings::from_environment();
  std::string repo_id = args.hub_model_id.empty() ? folder_name : args.hub_model_id;
  hub::PushOptions options;
  options.private_repo = args.hub_private_repo;
  options.commit_message = "End of training";
  options.exclude = {"checkpoint-*/", "_*"};
  bool owner_unknown = false;
  try {
    // A name without a namespace goes to the token's user; asking the Hub who that is can fail
    // like the upload, and the model is saved all the same.
    if (repo_id.find('/') == std::string::npos) {
      const std::string name = repo_id;
      repo_id = "USER/" + name;
      owner_unknown = true;
      repo_id = hub::token_owner(settings) + "/" + name;
      owner_unknown = false;
    }
    const hub::PushResult pushed =
        hub::upload_folder(settings, output_dir, {hub::RepoType::kModel, repo_id}, options);
    fmt::print(stderr, "push_to_hub: {} ({} LFS) -> {}\n", io::counted(pushed.files, "file"),
               pushed.lfs_files, pushed.commit_url.empty() ? repo_id : pushed.commit_url);
  } catch (const Error& error) {
    fail("{}; the trained model is saved in {}: publish it with `embedtune push {} {}`{}",
         error.what(), output_dir.string(), output_dir.string(), repo_id,
         owner_unknown ? ", USER being your Hub user name" : "");
  }
}

}  // namespace embedtune::training
