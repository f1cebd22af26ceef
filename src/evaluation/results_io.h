// Writing and reading evaluation results: the results JSON (keys in order), sentence-transformers'
// per-evaluator CSV file, and a plain-text table with one row per Matryoshka dimension.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "evaluation/information_retrieval_evaluator.h"

namespace embedtune::evaluation {

using MetricList = std::vector<std::pair<std::string, double>>;

// The metrics as one JSON object, keys in their order.
nlohmann::ordered_json results_to_json(const MetricList& metrics);

// Writes results_to_json(metrics) to `path` atomically (2-space indent, trailing newline).
// Throws Error naming `path` when the write fails.
void write_results_json(const std::filesystem::path& path, const MetricList& metrics);

// Reads a results JSON: one object whose values are numbers, in file order. Throws Error naming
// `path` (and the key) when the file is missing, not JSON, not an object, or a value is not a
// number.
MetricList read_results_json(const std::filesystem::path& path);

// Python's repr() of a float: shortest round-trip digits, "1.0" not "1", exponent form below 1e-4
// or from 1e16 ("1e-05", "1.5e+16"), "nan", "inf", "-inf". ST writes CSV values with str().
std::string python_float_repr(double value);

// "Information-Retrieval_evaluation_{name}_results.csv" ("..._evaluation_results.csv" without a
// name).
std::string ir_csv_file_name(const std::string& name);

// ST's csv_headers: "epoch", "steps", then per score function in sorted order:
// {s}-Accuracy@k..., {s}-Precision@k and {s}-Recall@k interleaved per k, {s}-MRR@k...,
// {s}-NDCG@k..., {s}-MAP@k...
std::vector<std::string> ir_csv_headers(const IrEvaluatorConfig& config);

// The CSV row ST appends for these results: epoch, steps, then the values in header order,
// looked up as "{config.name}_{score}_{metric}@{k}". Throws Error when a key is missing.
std::string ir_csv_row(const IrEvaluatorConfig& config, const MetricList& metrics,
                       int64_t epoch = -1, int64_t steps = -1);

// Appends one row to `dir`/ir_csv_file_name(config.name), writing the header first when the file
// does not exist yet, as ST does. The folder is created if needed; the file is replaced
// atomically (old contents plus the new row). epoch/steps are -1 for a standalone evaluation.
void append_ir_csv(const std::filesystem::path& dir, const IrEvaluatorConfig& config,
                   const MetricList& metrics, int64_t epoch = -1, int64_t steps = -1);

// append_ir_csv for each Matryoshka dimension's evaluator (named as evaluate_matryoshka names it).
void append_matryoshka_csvs(const std::filesystem::path& dir, const std::vector<int64_t>& dims,
                            const IrEvaluatorConfig& base, const MetricList& metrics,
                            int64_t epoch = -1, int64_t steps = -1);

// The dimensions d with a "dim_{d}_cosine_ndcg@10" key (an "eval_" prefix allowed), in key order.
std::vector<int64_t> dims_in_results(const MetricList& metrics);

// Plain-text table, one row per dimension found by dims_in_results, columns ndcg@10, mrr@10,
// map@100, recall@10 and accuracy@1 of the cosine score ("-" where a key is absent), 4 decimals.
std::string matryoshka_table(const MetricList& metrics);

}  // namespace embedtune::evaluation
