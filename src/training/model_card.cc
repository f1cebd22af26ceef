// Model card rendering: plain string building from ModelCardData.
#include "training/model_card.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdint>
#include <map>
#include <optional>

#include "io/json.h"

namespace embedtune::training {
namespace {

std::string number(double value, int decimals = 4) {
  return fmt::format("{:.{}f}", value, decimals);
}

std::string epoch_text(double epoch) {
  // "1.0", "0.5", "0.3333": as ST prints rounded epochs.
  std::string text = fmt::format("{:.4f}", epoch);
  while (text.size() > 3 && text.back() == '0' && text[text.size() - 2] != '.') text.pop_back();
  return text;
}

std::string metric_or(const std::vector<std::pair<std::string, double>>& metrics,
                      const std::string& key) {
  for (const auto& [k, v] : metrics) {
    if (k == key) return number(v);
  }
  return "-";
}

}  // namespace

std::string training_log_table(const nlohmann::json& log_history, const std::vector<int64_t>& dims,
                               std::optional<int64_t> saved_step) {
  struct Row {
    double epoch = 0;
    std::string loss = "-";
    std::map<int64_t, std::string> ndcg;
  };
  std::map<int64_t, Row> rows;
  for (const auto& entry : log_history) {
    if (!entry.is_object() || !entry.contains("step")) continue;
    const std::optional<int64_t> step = io::json_int64(entry["step"]);
    if (!step) continue;  // not a step number: not a row
    const bool is_train = entry.contains("loss");
    bool is_eval = false;
    for (int64_t d : dims) is_eval |= entry.contains(fmt::format("eval_dim_{}_cosine_ndcg@10", d));
    if (!is_train && !is_eval) continue;  // the closing summary entry
    Row& row = rows[*step];
    if (entry.contains("epoch") && entry["epoch"].is_number())
      row.epoch = entry["epoch"].get<double>();
    if (is_train && entry["loss"].is_number()) row.loss = number(entry["loss"].get<double>());
    for (int64_t d : dims) {
      const std::string key = fmt::format("eval_dim_{}_cosine_ndcg@10", d);
      if (entry.contains(key) && entry[key].is_number())
        row.ndcg[d] = number(entry[key].get<double>());
    }
  }
  std::string out = "| Epoch | Step | Training Loss |";
  std::string rule = "|:-----:|:----:|:-------------:|";
  for (int64_t d : dims) {
    out += fmt::format(" dim_{}_cosine_ndcg@10 |", d);
    rule += ":----------------------:|";
  }
  out += "\n" + rule + "\n";
  for (const auto& [step, row] : rows) {
    std::vector<std::string> cells = {epoch_text(row.epoch), std::to_string(step), row.loss};
    for (int64_t d : dims) {
      auto it = row.ndcg.find(d);
      cells.push_back(it == row.ndcg.end() ? "-" : it->second);
    }
    const bool bold = saved_step && *saved_step == step;
    out += "|";
    for (const std::string& cell : cells)
      out += bold ? fmt::format(" **{}** |", cell) : fmt::format(" {} |", cell);
    out += "\n";
  }
  if (saved_step) out += "\n* The bold row denotes the saved checkpoint.\n";
  return out;
}

std::string render_model_card(const ModelCardData& d) {
  std::string out = "---\n";
  out += fmt::format("base_model: {}\n", d.base_model);
  out += "library_name: sentence-transformers\npipeline_tag: sentence-similarity\ntags:\n";
  out +=
      "- sentence-transformers\n- sentence-similarity\n- feature-extraction\n- "
      "generated_from_trainer\n";
  out += fmt::format("- dataset_size:{}\n", d.train_rows);
  out += fmt::format("- loss:{}\n", d.loss);
  if (d.loss == "MatryoshkaLoss") out += fmt::format("- loss:{}\n", d.inner_loss);
  out += "- embedtune\n";
  if (!d.final_metrics.empty()) {
    out += "metrics:\n";
    for (const char* m : {"accuracy@1", "accuracy@3", "accuracy@5", "accuracy@10", "precision@1",
                          "recall@10", "ndcg@10", "mrr@10", "map@100"})
      out += fmt::format("- cosine_{}\n", m);
    out += fmt::format("model-index:\n- name: {}\n  results:\n", d.model_name);
    for (int64_t dim : d.dims) {
      out += "  - task:\n      type: information-retrieval\n      name: Information Retrieval\n";
      out += fmt::format("    dataset:\n      name: dim {}\n      type: dim_{}\n    metrics:\n",
                         dim, dim);
      for (const char* m : {"accuracy@1", "accuracy@10", "ndcg@10", "mrr@10", "map@100"}) {
        const std::string key = fmt::format("eval_dim_{}_cosine_{}", dim, m);
        for (const auto& [k, v] : d.final_metrics) {
          if (k == key) {
            out += fmt::format("    - type: cosine_{}\n      value: {}\n      name: Cosine {}\n", m,
                               fmt::format("{}", v), m);
          }
        }
      }
    }
  }
  out += "---\n\n";

  out += fmt::format("# {}\n\n", d.model_name);
  out += fmt::format(
      "This is a sentence-transformers model fine-tuned from {} with embedtune. It maps sentences "
      "and "
      "paragraphs to a {}-dimensional dense vector space, trained with Matryoshka representation "
      "learning "
      "so that the leading {} values work as smaller embeddings, for semantic search and "
      "retrieval.\n\n",
      d.base_model, d.embedding_dimension, fmt::join(d.dims, ", "));
  out += "## Model Details\n\n";
  out +=
      fmt::format("- **Model Type:** Sentence Transformer\n- **Base model:** {}\n", d.base_model);
  out += fmt::format(
      "- **Maximum Sequence Length:** {} tokens\n- **Output Dimensionality:** {} dimensions\n",
      d.max_seq_length, d.embedding_dimension);
  out += fmt::format("- **Similarity Function:** Cosine Similarity\n- **Parameters:** {}\n\n",
                     d.parameter_count);
  out += "### Full Model Architecture\n\n```\nSentenceTransformer(\n";
  out += fmt::format("  (0): Transformer({{'max_seq_length': {}, 'architecture': '{}'}})\n",
                     d.max_seq_length, d.architecture);
  out += fmt::format("  (1): Pooling({{'word_embedding_dimension': {}, 'pooling_mode': '{}'}})\n",
                     d.embedding_dimension, d.pooling);
  if (d.normalize) out += "  (2): Normalize()\n";
  out += ")\n```\n\n";

  out += "## Usage\n\n```python\nfrom sentence_transformers import SentenceTransformer\n\n";
  out += fmt::format("model = SentenceTransformer(\"{}\", truncate_dim={})\n", d.model_name,
                     d.dims.empty() ? d.embedding_dimension : d.dims.back());
  out +=
      "embeddings = model.encode([\"How do I read a file?\", \"open() returns a file "
      "object.\"])\n```\n\n";
  out += "or with embedtune:\n\n```\n";
  out += fmt::format(
      "embedtune encode --model {} --input texts.txt --output embeddings.npy --dim {}\n```\n\n",
      d.model_name, d.dims.empty() ? d.embedding_dimension : d.dims.back());

  if (!d.final_metrics.empty()) {
    out += "## Evaluation\n\n### Information Retrieval\n\n";
    out +=
        "Evaluated with InformationRetrievalEvaluator at each Matryoshka dimension.\n\n| Metric |";
    std::string rule = "|:-------|";
    for (int64_t dim : d.dims) {
      out += fmt::format(" dim_{} |", dim);
      rule += "-------:|";
    }
    out += "\n" + rule + "\n";
    for (const char* m : {"accuracy@1", "accuracy@3", "accuracy@5", "accuracy@10", "precision@1",
                          "precision@3", "precision@5", "precision@10", "recall@1", "recall@3",
                          "recall@5", "recall@10", "ndcg@10", "mrr@10", "map@100"}) {
      const bool primary = std::string(m) == "ndcg@10";
      out += primary ? fmt::format("| **cosine_{}** |", m) : fmt::format("| cosine_{} |", m);
      for (int64_t dim : d.dims) {
        const std::string value =
            metric_or(d.final_metrics, fmt::format("eval_dim_{}_cosine_{}", dim, m));
        out += primary ? fmt::format(" **{}** |", value) : fmt::format(" {} |", value);
      }
      out += "\n";
    }
    out += "\n";
  }

  out += "## Training Details\n\n### Training Dataset\n\n";
  out += fmt::format("- Source: `{}`\n- Size: {} training samples\n- Columns: {}\n", d.train_file,
                     d.train_rows, fmt::join(d.train_columns, ", "));
  if (!d.column_mean_tokens.empty()) {
    out += "- Approximate statistics (tokens):\n\n  | | ";
    std::string rule = "  |:--|";
    std::string row = "  | mean |";
    for (const auto& [column, mean] : d.column_mean_tokens) {
      out += fmt::format("{} | ", column);
      rule += ":--|";
      row += fmt::format(" {:.2f} tokens |", mean);
    }
    out += "\n" + rule + "\n" + row + "\n";
  }
  out += fmt::format("- Loss: `{}` with these parameters:\n\n```json\n{}\n```\n\n", d.loss,
                     d.loss_settings.dump(2));
  out += "### Training Hyperparameters\n\n#### Non-Default Hyperparameters\n\n";
  for (const auto& [k, v] : d.non_default_hyperparameters) out += fmt::format("- `{}`: {}\n", k, v);
  out += "\n#### All Hyperparameters\n<details><summary>Click to expand</summary>\n\n";
  for (const auto& [k, v] : d.all_hyperparameters) out += fmt::format("- `{}`: {}\n", k, v);
  out += "\n</details>\n\n";

  out += "### Training Logs\n\n";
  out += training_log_table(d.log_history, d.dims, d.saved_step);
  out += "\n### Framework Versions\n\n";
  for (const auto& [k, v] : d.versions) out += fmt::format("- {}: {}\n", k, v);
  out +=
      "\n## Citation\n\n### BibTeX\n\n#### Sentence Transformers\n\n```bibtex\n"
      "@inproceedings{reimers-2019-sentence-bert,\n"
      "    title = \"Sentence-BERT: Sentence Embeddings using Siamese BERT-Networks\",\n"
      "    author = \"Reimers, Nils and Gurevych, Iryna\",\n"
      "    booktitle = \"Proceedings of the 2019 Conference on Empirical Methods in Natural "
      "Language Processing\",\n"
      "    year = \"2019\",\n    url = \"https://arxiv.org/abs/1908.10084\",\n}\n```\n\n"
      "#### MatryoshkaLoss\n\n```bibtex\n@misc{kusupati2024matryoshka,\n"
      "    title={Matryoshka Representation Learning},\n"
      "    author={Aditya Kusupati and Gantavya Bhatt and Aniket Rege and Matthew Wallingford and "
      "Aditya Sinha "
      "and Vivek Ramanujan and William Howard-Snyder and Kaifeng Chen and Sham Kakade and Prateek "
      "Jain and Ali "
      "Farhadi},\n    year={2024},\n    eprint={2205.13147},\n    archivePrefix={arXiv},\n"
      "    primaryClass={cs.LG}\n}\n```\n\n"
      "#### MultipleNegativesRankingLoss\n\n```bibtex\n@misc{henderson2017efficient,\n"
      "    title={Efficient Natural Language Response Suggestion for Smart Reply},\n"
      "    author={Matthew Henderson and Rami Al-Rfou and Brian Strope and Yun-hsuan Sung and "
      "Laszlo Lukacs and "
      "Ruiqi Guo and Sanjiv Kumar and Balint Miklos and Ray Kurzweil},\n    year={2017},\n"
      "    eprint={1705.00652},\n    archivePrefix={arXiv},\n    primaryClass={cs.CL}\n}\n```\n";
  return out;
}

}  // namespace embedtune::training
