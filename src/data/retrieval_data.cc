// Reading evaluation data: prepare's splits or a BEIR folder (see retrieval_data.h).
#include "data/retrieval_data.h"

#include <fmt/format.h>

#include <charconv>
#include <optional>
#include <unordered_map>

#include "data/records.h"
#include "data/text.h"
#include "io/error.h"
#include "io/file.h"

namespace embedtune::data {
namespace {

constexpr const char* kFixRow = "fix the row";

// Evaluation data has no --skip-invalid: every bad row stops the run.
struct StrictRows {
  std::filesystem::path file;
  [[noreturn]] void report(std::size_t line, std::string_view detail) const {
    fail("{}:{}: {}; {}", file.string(), line, detail, kFixRow);
  }
};

// Keeps "first use" lines of ids so a repeat can name both places.
class IdRegistry {
 public:
  // Returns the place an id was first used ("FILE line N"), or nullopt when it is new.
  std::optional<std::string> add(const std::string& id, const std::filesystem::path& file,
                                 std::size_t line) {
    const auto [it, inserted] = places_.emplace(id, fmt::format("{} line {}", file.string(), line));
    if (inserted) return std::nullopt;
    return it->second;
  }
  bool contains(const std::string& id) const { return places_.count(id) != 0; }

 private:
  std::unordered_map<std::string, std::string> places_;
};

// The id in `column` as text, or nullopt (with `problem` set) when it is not an integer or a
// non-empty string.
std::optional<std::string> id_text(const Record& record, const char* column, std::string& problem) {
  const auto it = record.columns.find(column);
  if (it == record.columns.end()) {
    problem = fmt::format("expected a column \"{}\", found none", column);
    return std::nullopt;
  }
  if (it->is_number_integer()) return it->dump();
  if (it->is_string() && !it->get_ref<const std::string&>().empty()) return it->get<std::string>();
  problem = fmt::format("column \"{}\": expected an integer or a non-empty string, found {}",
                        column, describe_json_value(*it));
  return std::nullopt;
}

// The string in `column`, or nullopt (with `problem` set). `optional_null`: missing or null
// reads as "".
std::optional<std::string> string_column(const Record& record, const char* column,
                                         std::string& problem, bool optional_null = false) {
  const auto it = record.columns.find(column);
  if (it == record.columns.end() || it->is_null()) {
    if (optional_null) return std::string();
    problem = it == record.columns.end()
                  ? fmt::format("expected a column \"{}\", found none", column)
                  : fmt::format("column \"{}\": expected a string, found null", column);
    return std::nullopt;
  }
  if (!it->is_string()) {
    problem =
        fmt::format("column \"{}\": expected a string, found {}", column, describe_json_value(*it));
    return std::nullopt;
  }
  return it->get<std::string>();
}

std::vector<Record> read_jsonl_strict(const std::filesystem::path& path) {
  InvalidRows invalid(path, /*skip_invalid=*/false, kFixRow);
  return read_records(path, DataFormat::kJsonLines, invalid);
}

// Reads one prepared split: appends positives to the corpus and, for the test split, anchors to
// the queries.
void read_prepared_split(const std::filesystem::path& path, bool is_test, IdRegistry& ids,
                         RetrievalData& data) {
  const StrictRows invalid{path};
  for (const Record& record : read_jsonl_strict(path)) {
    std::string problem;
    const auto id = id_text(record, "id", problem);
    const auto anchor = id ? string_column(record, "anchor", problem) : std::nullopt;
    const auto positive = anchor ? string_column(record, "positive", problem) : std::nullopt;
    if (!positive) invalid.report(record.line, problem);
    if (const auto first = ids.add(*id, path, record.line)) {
      invalid.report(record.line, fmt::format("column \"id\": expected a unique id across train "
                                              "and test, found {} already used at {}",
                                              quote_for_message(*id), *first));
    }
    data.corpus_ids.push_back(*id);
    data.corpus_texts.push_back(*positive);
    if (is_test) {
      data.query_ids.push_back(*id);
      data.query_texts.push_back(*anchor);
      data.relevant[*id] = {*id};
    }
  }
}

void read_beir_qrels(const std::filesystem::path& path, const IdRegistry& query_ids,
                     const IdRegistry& corpus_ids, const std::filesystem::path& corpus_path,
                     bool allow_missing_documents, RetrievalData& data) {
  const std::string bytes = io::read_file(path);
  std::string_view text = bytes;
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
  const StrictRows invalid{path};
  // query id -> (corpus id -> score), in first-seen order of documents per query.
  std::map<std::string, std::map<std::string, long long>> scores;
  // Relevant judgements of documents the corpus lacks: how many, and the first one's line.
  std::size_t missing = 0, judged = 0, first_missing_line = 0;
  std::string first_missing;
  std::size_t line = 0;
  std::size_t pos = 0;
  bool header_seen = false;
  while (pos < text.size()) {
    ++line;
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view row = text.substr(pos, end - pos);
    pos = end + 1;
    if (!row.empty() && row.back() == '\r') row.remove_suffix(1);
    if (const auto bad = find_invalid_utf8(row)) {
      invalid.report(line, fmt::format("expected UTF-8 text, found byte 0x{:02X} at column {}",
                                       static_cast<unsigned char>(row[*bad]), *bad + 1));
    }
    if (is_blank(row)) continue;
    std::vector<std::string_view> fields;
    for (std::size_t start = 0;;) {
      const std::size_t tab = row.find('\t', start);
      fields.push_back(row.substr(start, tab == std::string_view::npos ? row.npos : tab - start));
      if (tab == std::string_view::npos) break;
      start = tab + 1;
    }
    if (!header_seen) {
      header_seen = true;
      if (fields.size() != 3 || fields[0] != "query-id" || fields[1] != "corpus-id" ||
          fields[2] != "score") {
        // One field holding commas: a CSV export, not a header that is missing.
        const bool commas = fields.size() == 1 && row.find(',') != std::string_view::npos;
        fail("{}:{}: expected the header \"query-id<TAB>corpus-id<TAB>score\", found {}; {}",
             path.string(), line, quote_for_message(row, 80),
             commas ? "BEIR qrels are tab-separated: write the columns with tabs, not commas"
                    : "add the header line BEIR's qrels files start with");
      }
      continue;
    }
    if (fields.size() != 3) {
      invalid.report(line, fmt::format("expected 3 tab-separated fields (query-id, corpus-id, "
                                       "score), found {}",
                                       fields.size()));
    }
    long long score = 0;
    const std::string_view score_text = fields[2];
    const auto [score_end, ec] =
        std::from_chars(score_text.data(), score_text.data() + score_text.size(), score);
    if (score_text.empty() || ec != std::errc() ||
        score_end != score_text.data() + score_text.size()) {
      invalid.report(line, fmt::format("column \"score\": expected an integer, found {}",
                                       quote_for_message(score_text)));
    }
    const std::string query_id(fields[0]);
    const std::string corpus_id(fields[1]);
    if (query_id.empty() || corpus_id.empty()) {
      invalid.report(line, "expected a query id and a corpus id, found an empty field");
    }
    if (!query_ids.contains(query_id)) {
      invalid.report(line, fmt::format("column \"query-id\": expected an _id from queries.jsonl, "
                                       "found {}",
                                       quote_for_message(query_id)));
    }
    scores[query_id][corpus_id] = score;
    if (score > 0) {
      ++judged;
      if (!corpus_ids.contains(corpus_id)) {
        if (missing++ == 0) first_missing = corpus_id, first_missing_line = line;
      }
    }
  }
  if (!header_seen) {
    fail(
        "{}: expected the header \"query-id<TAB>corpus-id<TAB>score\" and judgement rows, found "
        "an empty file; check the path",
        path.string());
  }
  if (missing > 0 && !allow_missing_documents) {
    // BEIR keeps such judgements: they count in |relevant| but are never retrieved, which lowers
    // recall and NDCG without a word. Ids of another form than the corpus's (integers there,
    // "doc1" here) look exactly like that, so this is an error unless asked for.
    fail(
        "{}:{}: column \"corpus-id\": {} is not an _id in {} ({} of {} relevant judgements name "
        "documents the corpus lacks); fix the ids, remove those rows, or pass "
        "--allow-missing-documents to count them as BEIR does",
        path.string(), first_missing_line, quote_for_message(first_missing), corpus_path.string(),
        missing, judged);
  }
  for (const auto& [query_id, docs] : scores) {
    for (const auto& [corpus_id, score] : docs) {
      if (score > 0) data.relevant[query_id].insert(corpus_id);
    }
  }
}

}  // namespace

RetrievalData load_prepared_retrieval_data(const std::filesystem::path& train_jsonl,
                                           const std::filesystem::path& test_jsonl) {
  RetrievalData data;
  IdRegistry ids;
  read_prepared_split(train_jsonl, /*is_test=*/false, ids, data);
  read_prepared_split(test_jsonl, /*is_test=*/true, ids, data);
  return data;
}

RetrievalData load_prepared_retrieval_data(const std::filesystem::path& dir) {
  return load_prepared_retrieval_data(dir / "train.jsonl", dir / "test.jsonl");
}

RetrievalData load_beir_retrieval_data(const std::filesystem::path& corpus_jsonl,
                                       const std::filesystem::path& queries_jsonl,
                                       const std::filesystem::path& qrels_tsv,
                                       bool allow_missing_documents) {
  RetrievalData data;
  IdRegistry ids;
  {
    const StrictRows invalid{corpus_jsonl};
    for (const Record& record : read_jsonl_strict(corpus_jsonl)) {
      std::string problem;
      const auto id = id_text(record, "_id", problem);
      const auto title = id ? string_column(record, "title", problem, true) : std::nullopt;
      const auto body = title ? string_column(record, "text", problem) : std::nullopt;
      if (!body) invalid.report(record.line, problem);
      if (const auto first = ids.add(*id, corpus_jsonl, record.line)) {
        invalid.report(record.line,
                       fmt::format("column \"_id\": expected a unique id, found {} already "
                                   "used at {}",
                                   quote_for_message(*id), *first));
      }
      data.corpus_ids.push_back(*id);
      // BEIR: (doc["title"] + " " + doc["text"]).strip()
      data.corpus_texts.emplace_back(python_strip(*title + " " + *body));
    }
    if (data.corpus_ids.empty()) {
      fail(
          "{}: expected documents ({{\"_id\", \"title\", \"text\"}} per line), found none; "
          "check the path",
          corpus_jsonl.string());
    }
  }
  IdRegistry query_ids;
  {
    const StrictRows invalid{queries_jsonl};
    for (const Record& record : read_jsonl_strict(queries_jsonl)) {
      std::string problem;
      const auto id = id_text(record, "_id", problem);
      const auto body = id ? string_column(record, "text", problem) : std::nullopt;
      if (!body) invalid.report(record.line, problem);
      if (const auto first = query_ids.add(*id, queries_jsonl, record.line)) {
        invalid.report(record.line,
                       fmt::format("column \"_id\": expected a unique id, found {} already "
                                   "used at {}",
                                   quote_for_message(*id), *first));
      }
      data.query_ids.push_back(*id);
      data.query_texts.push_back(*body);
    }
    if (data.query_ids.empty()) {
      fail("{}: expected queries ({{\"_id\", \"text\"}} per line), found none; check the path",
           queries_jsonl.string());
    }
  }
  read_beir_qrels(qrels_tsv, query_ids, ids, corpus_jsonl, allow_missing_documents, data);
  return data;
}

RetrievalData load_beir_retrieval_data(const std::filesystem::path& dir, std::string_view split,
                                       bool allow_missing_documents) {
  std::filesystem::path qrels = dir / "qrels.tsv";
  std::error_code ec;
  if (!std::filesystem::exists(qrels, ec)) qrels = dir / "qrels" / (std::string(split) + ".tsv");
  return load_beir_retrieval_data(dir / "corpus.jsonl", dir / "queries.jsonl", qrels,
                                  allow_missing_documents);
}

}  // namespace embedtune::data
