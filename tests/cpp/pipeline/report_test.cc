// report.html: escaping, the comparison table against `embedtune compare`, determinism, missing
// parts, no script, well-formed SVG; and an example report for tests/python/test_report_render.py.
#include "pipeline/report.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <numbers>
#include <regex>
#include <sstream>

#include "evaluation/compare.h"
#include "io/json.h"
#include "xml_check.h"

namespace embedtune::pipeline {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

constexpr int64_t kDims[] = {384, 256, 128, 64};

// A realistic run of all-MiniLM-L6-v2: 3 epochs of 40 steps, logging every 5 steps, warmup 12
// steps then cosine decay from 2e-5, one evaluation per epoch, the best at step 80.
ReportInputs example_inputs() {
  ReportInputs in;
  in.title = "all-MiniLM-L6-v2 on python-docs-qa";
  const double base_ndcg[] = {0.6512, 0.6398, 0.6104, 0.5421};
  const double tuned_ndcg[] = {0.7433, 0.7391, 0.7210, 0.6822};
  for (int which = 0; which < 2; ++which) {
    auto& out = which == 0 ? in.baseline : in.finetuned;
    for (size_t i = 0; i < 4; ++i) {
      const double ndcg = which == 0 ? base_ndcg[i] : tuned_ndcg[i];
      const std::string p = fmt::format("dim_{}_cosine_", kDims[i]);
      out.emplace_back(p + "accuracy@1", ndcg - 0.11);
      out.emplace_back(p + "recall@10", std::min(1.0, ndcg + 0.13));
      out.emplace_back(p + "ndcg@10", ndcg);
      out.emplace_back(p + "mrr@10", ndcg - 0.043);
      out.emplace_back(p + "map@100", ndcg - 0.038);
    }
    // Quantized precisions (evaluate --precisions): NDCG@10 a little below float32's.
    const std::pair<const char*, double> quantized[] = {
        {"int8", 0.995}, {"binary", 0.90}, {"int8+rescore", 0.999}, {"binary+rescore", 0.975}};
    for (size_t i = 0; i < 4; ++i) {
      for (const auto& [precision, factor] : quantized) {
        const double ndcg = (which == 0 ? base_ndcg[i] : tuned_ndcg[i]) * factor;
        out.emplace_back(fmt::format("dim_{}_{}_ndcg@10", kDims[i], precision), ndcg);
      }
    }
    out.emplace_back("sequential_score", which == 0 ? base_ndcg[3] : tuned_ndcg[3]);
  }
  in.log_history = nlohmann::json::array();
  const double peak = 2e-5;
  for (int step = 5; step <= 120; step += 5) {
    const double lr =
        step < 12 ? peak * step / 12.0
                  : peak * 0.5 * (1.0 + std::cos(std::numbers::pi * (step - 12) / (120.0 - 12.0)));
    in.log_history.push_back(
        {{"epoch", step / 40.0},
         {"step", step},
         {"loss", 2.4 * std::exp(-step / 35.0) + 0.42 + 0.04 * std::sin(step * 0.7)},
         {"grad_norm", 3.0 + std::cos(step * 0.3)},
         {"learning_rate", lr}});
    if (step % 40 == 0) {
      nlohmann::json eval = {{"epoch", step / 40.0}, {"step", step}, {"eval_runtime", 9.81}};
      const double gain[] = {0.0, 0.021, 0.016};
      for (size_t i = 0; i < 4; ++i) {
        eval[fmt::format("eval_dim_{}_cosine_ndcg@10", kDims[i])] =
            tuned_ndcg[i] - 0.03 + gain[step / 40 - 1] + 0.001 * static_cast<double>(i);
      }
      in.log_history.push_back(eval);
    }
  }
  in.log_history.push_back(
      {{"epoch", 3.0}, {"step", 120}, {"train_runtime", 1834.5}, {"train_loss", 0.81}});
  in.settings = {{"model", "sentence-transformers/all-MiniLM-L6-v2"},
                 {"data", {{"train", "runs/qa/train.jsonl"}, {"test", "runs/qa/test.jsonl"}}},
                 {"matryoshka_dims", {384, 256, 128, 64}},
                 {"training",
                  {{"num_train_epochs", 3},
                   {"per_device_train_batch_size", 32},
                   {"learning_rate", 2e-5},
                   {"warmup_ratio", 0.1},
                   {"lr_scheduler_type", "cosine"},
                   {"metric_for_best_model", "eval_dim_128_cosine_ndcg@10"}}},
                 {"comment", "<b>not bold</b> & \"quoted\""}};
  in.timings = {{"prepare", 3.2},
                {"baseline", 41.7},
                {"train", 1834.5},
                {"evaluate", 40.9},
                {"compare", 0.1}};
  in.best_step = 80;
  return in;
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

std::string strip_tags(const std::string& s) {
  std::string out;
  bool in_tag = false;
  for (char c : s) {
    if (c == '<') in_tag = true;
    if (!in_tag) out += c;
    if (c == '>') in_tag = false;
  }
  return out;
}

// The text of every <td> of the body rows of <table id="`id`">.
std::vector<std::vector<std::string>> table_rows(const std::string& html, const std::string& id) {
  std::vector<std::vector<std::string>> rows;
  const size_t start = html.find("<table id=\"" + id + "\"");
  if (start == std::string::npos) return rows;
  const size_t body = html.find("<tbody>", start);
  const size_t end = html.find("</tbody>", body);
  for (size_t tr = html.find("<tr", body); tr != std::string::npos && tr < end;
       tr = html.find("<tr", tr + 1)) {
    const size_t tr_end = html.find("</tr>", tr);
    std::vector<std::string> cells;
    for (size_t td = html.find("<td", tr); td != std::string::npos && td < tr_end;
         td = html.find("<td", td + 1)) {
      const size_t open_end = html.find('>', td);
      cells.push_back(strip_tags(html.substr(open_end + 1, html.find("</td>", td) - open_end - 1)));
    }
    rows.push_back(cells);
  }
  return rows;
}

std::vector<std::string> svg_fragments(const std::string& html) {
  std::vector<std::string> out;
  for (size_t at = html.find("<svg"); at != std::string::npos; at = html.find("<svg", at + 1)) {
    out.push_back(html.substr(at, html.find("</svg>", at) + 6 - at));
  }
  return out;
}

TEST(Report, EscapesTitleAndSettings) {
  ReportInputs in = example_inputs();
  in.title = "<script>alert(1)</script> & co";
  const std::string html = render_report_html(in);
  EXPECT_THAT(html, HasSubstr("<h1>&lt;script&gt;alert(1)&lt;/script&gt; &amp; co</h1>"));
  EXPECT_THAT(html, HasSubstr("&lt;b&gt;not bold&lt;/b&gt; &amp; &quot;quoted&quot;"));
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("<b>")));
}

TEST(Report, ComparisonTableEqualsCompareMarkdown) {
  const ReportInputs in = example_inputs();
  const evaluation::Comparison c = evaluation::compare_results(in.baseline, in.finetuned, "b", "f");
  // The Markdown rows `embedtune compare` prints: "| 384 | 0.6512 | 0.7433 | +14.1% | 100.0% |
  // 100.0% |".
  std::istringstream md(evaluation::render_markdown(c));
  std::vector<std::vector<std::string>> expected;
  std::string line;
  for (int n = 0; std::getline(md, line) && !line.empty(); ++n) {
    if (n < 2) continue;  // header and rule
    std::vector<std::string> cells;
    std::istringstream row(line.substr(2, line.size() - 4));
    for (std::string cell; std::getline(row, cell, '|');) {
      cells.push_back(cell.substr(cell.find_first_not_of(' '),
                                  cell.find_last_not_of(' ') - cell.find_first_not_of(' ') + 1));
    }
    expected.push_back(cells);
  }
  ASSERT_EQ(expected.size(), 4u);
  EXPECT_EQ(table_rows(render_report_html(in), "comparison"), expected);
  // And by hand for the smallest dimension: (0.6822 - 0.5421) / 0.5421 = +25.8%, 0.5421 / 0.6512
  // = 83.2%, 0.6822 / 0.7433 = 91.8%.
  EXPECT_EQ(expected[3],
            (std::vector<std::string>{"64", "0.5421", "0.6822", "+25.8%", "83.2%", "91.8%"}));
}

TEST(Report, Deterministic) {
  const std::string a = render_report_html(example_inputs());
  const std::string b = render_report_html(example_inputs());
  EXPECT_EQ(a, b);
  EXPECT_GT(a.size(), 10000u);
}

TEST(Report, NoScriptNoNetworkAllChartsWellFormed) {
  const std::string html = render_report_html(example_inputs());
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("https://")));
  EXPECT_THAT(html, Not(HasSubstr(" src=")));
  EXPECT_THAT(html, Not(HasSubstr(" href=")));
  EXPECT_THAT(html, Not(HasSubstr("url(")));
  EXPECT_FALSE(std::regex_search(html, std::regex(" on[a-z]+="))) << "an event-handler attribute";
  EXPECT_EQ(count(html, "http://"), count(html, "xmlns=\"http://www.w3.org/2000/svg\""));
  const auto svgs = svg_fragments(html);
  // Quality by dimension, training loss, learning rate, NDCG@10 during training, and quality
  // against storage (the example has int8 and binary results).
  ASSERT_EQ(svgs.size(), 5u);
  for (const std::string& svg : svgs)
    EXPECT_EQ(testing::xml_problem(svg), "") << svg.substr(0, 200);
  // Six series in the quality chart: three metrics, baseline and fine-tuned.
  for (const char* name : {"NDCG@10 baseline", "NDCG@10 fine-tuned", "MRR@10 baseline",
                           "MRR@10 fine-tuned", "Recall@10 baseline", "Recall@10 fine-tuned"}) {
    EXPECT_THAT(svgs[0], HasSubstr(std::string(">") + name + "<"));
  }
  EXPECT_EQ(count(svgs[0], "<polyline"), 6u);
  EXPECT_EQ(count(svgs[0], "stroke-dasharray"), 6u);  // 3 baseline lines + their 3 legend samples
  // The frontier: one line per precision and model (5 x 2), baseline dashed.
  EXPECT_EQ(count(svgs[4], "<polyline"), 10u);
  for (const char* name : {"float32 baseline", "int8 fine-tuned", "binary+rescore baseline"}) {
    EXPECT_THAT(svgs[4], HasSubstr(std::string(">") + name + "<"));
  }
  // The whole document is balanced too once the void <meta> elements and the doctype are set aside.
  std::string body = html.substr(html.find("<body>"));
  EXPECT_EQ(testing::xml_problem(body.substr(0, body.find("</html>"))), "");
}

TEST(Report, OnlyFloat32ResultsGiveANoteInsteadOfTheFrontier) {
  ReportInputs in = example_inputs();
  for (auto* side : {&in.baseline, &in.finetuned}) {
    std::erase_if(*side, [](const auto& kv) {
      return kv.first.find("cosine") == std::string::npos && kv.first != "sequential_score";
    });
  }
  const std::string html = render_report_html(in);
  EXPECT_THAT(html, HasSubstr("Only float32 results"));
  EXPECT_THAT(html, Not(HasSubstr("<table id=\"frontier\"")));
  EXPECT_EQ(svg_fragments(html).size(), 4u);
}

TEST(Report, EmptyLogHistoryGivesANoteInsteadOfTrainingCharts) {
  for (const nlohmann::json& log : {nlohmann::json::array(), nlohmann::json()}) {
    ReportInputs in = example_inputs();
    in.log_history = log;
    in.best_step = -1;
    const std::string html = render_report_html(in);
    EXPECT_THAT(html, HasSubstr("No training log"));
    EXPECT_EQ(svg_fragments(html).size(), 2u);  // only quality by dimension and by storage
    EXPECT_THAT(html, Not(HasSubstr("Training loss")));
    EXPECT_THAT(html, Not(HasSubstr("id=\"evaluations\"")));
  }
}

TEST(Report, BestCheckpointRowIsMarked) {
  const std::string html = render_report_html(example_inputs());
  const auto rows = table_rows(html, "evaluations");
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[1][0], "2");
  EXPECT_EQ(rows[1][1], "80 ★ best");
  EXPECT_EQ(rows[0][1], "40");
  // dim 384 at step 80: 0.7433 - 0.03 + 0.021 = 0.7343.
  EXPECT_EQ(rows[1][2], "0.7343");
  EXPECT_EQ(count(html, "class=\"best\""), 1u);
}

TEST(Report, StoragePerVector) {
  const auto rows = table_rows(render_report_html(example_inputs()), "storage");
  ASSERT_EQ(rows.size(), 4u);
  // 384 dims: 1536 B float32, 384 B int8, 48 B binary; x 1e6 / 2^20 = 1464.8, 366.2, 45.8 MiB.
  EXPECT_EQ(rows[0], (std::vector<std::string>{"384", "1536", "384", "48", "1464.8", "366.2",
                                               "45.8", "1x"}));
  // 64 dims: 256 B, 64 B, 8 B -> 244.1, 61.0, 7.6 MiB; 384 / 64 = 6x.
  EXPECT_EQ(rows[3],
            (std::vector<std::string>{"64", "256", "64", "8", "244.1", "61.0", "7.6", "6x"}));
}

TEST(Report, SettingsAndTimings) {
  const std::string html = render_report_html(example_inputs());
  const auto settings = table_rows(html, "settings");
  EXPECT_THAT(settings,
              ::testing::Contains(std::vector<std::string>{"training.learning_rate", "2e-05"}));
  EXPECT_THAT(settings,
              ::testing::Contains(std::vector<std::string>{"matryoshka_dims", "[384,256,128,64]"}));
  EXPECT_THAT(settings,
              ::testing::Contains(std::vector<std::string>{"data.train", "runs/qa/train.jsonl"}));
  const auto timings = table_rows(html, "timings");
  ASSERT_EQ(timings.size(), 6u);
  EXPECT_EQ(timings[2][0], "train");
  EXPECT_EQ(timings[2][2], "30 min 35 s");  // 1834.5 s rounds to 1835 s
  EXPECT_EQ(timings[5][0], "total");
  EXPECT_EQ(timings[5][1], "1920.4");  // 3.2 + 41.7 + 1834.5 + 40.9 + 0.1
}

TEST(Report, NoCommonDimensionStillRenders) {
  ReportInputs in;
  in.title = "broken";
  in.baseline = {{"dim_384_cosine_ndcg@10", 0.5}};
  in.finetuned = {{"dim_256_cosine_ndcg@10", 0.6}};
  const std::string html = render_report_html(in);
  EXPECT_THAT(
      html,
      HasSubstr("No comparison: baseline results and fine-tuned results: no dimension in common"));
  EXPECT_THAT(html, HasSubstr("No settings were recorded"));
  EXPECT_THAT(html, HasSubstr("No timings were recorded"));
  EXPECT_TRUE(svg_fragments(html).empty());
}

// Writes the example report and its inputs for tests/python/test_report_render.py, which runs this
// test with EMBEDTUNE_REPORT_OUT=<dir>/report.html and checks the page in headless Chromium.
TEST(Report, WritesExampleReport) {
  const char* env = std::getenv("EMBEDTUNE_REPORT_OUT");
  const fs::path out = env != nullptr && *env != '\0'
                           ? fs::path(env)
                           : fs::temp_directory_path() /
                                 fmt::format("embedtune_report_{}", getpid()) / "report.html";
  fs::create_directories(out.parent_path());
  const ReportInputs in = example_inputs();
  write_report(out, in);
  nlohmann::json inputs = {{"title", in.title},         {"baseline", in.baseline},
                           {"finetuned", in.finetuned}, {"log_history", in.log_history},
                           {"settings", in.settings},   {"timings", in.timings},
                           {"best_step", in.best_step}};
  io::write_json_file_atomic(out.parent_path() / "report_inputs.json", inputs);
  std::ifstream file(out, std::ios::binary);
  const std::string written((std::istreambuf_iterator<char>(file)),
                            std::istreambuf_iterator<char>());
  EXPECT_EQ(written, render_report_html(in));
  if (env == nullptr || *env == '\0') fs::remove_all(out.parent_path());
}

}  // namespace
}  // namespace embedtune::pipeline
