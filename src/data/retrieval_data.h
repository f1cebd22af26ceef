// What an information-retrieval evaluation needs: a corpus, queries, and which documents are
// relevant to each query; read from prepare's output or from a BEIR-layout folder.
#pragma once

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace embedtune::data {

// The arguments of sentence-transformers' InformationRetrievalEvaluator(queries, corpus,
// relevant_docs), with ids as text. corpus_ids/corpus_texts and query_ids/query_texts are
// parallel, in file order (the order of the Python dicts, which decides ties in rankings).
// Queries without relevant documents are kept; the evaluator drops them, as the Python one does.
struct RetrievalData {
  std::vector<std::string> corpus_ids, corpus_texts, query_ids, query_texts;
  std::map<std::string, std::set<std::string>> relevant;
};

// The reference notebook's evaluation data from prepare's splits: corpus = every positive of
// train then test keyed by id (concatenate_datasets([train, test])), queries = the test anchors
// keyed by id, relevant[qid] = {qid}. Integer ids become their decimal text.
// Throws Error "FILE:LINE: expected ..., found ...; fix the row" for a row that is not an object
// with an integer or string "id" and string "anchor" and "positive", or an id used twice.
RetrievalData load_prepared_retrieval_data(const std::filesystem::path& train_jsonl,
                                           const std::filesystem::path& test_jsonl);

// The same for DIR/train.jsonl and DIR/test.jsonl.
RetrievalData load_prepared_retrieval_data(const std::filesystem::path& dir);

// A BEIR dataset (the layout of beir.datasets.data_loader.GenericDataLoader):
//  - corpus.jsonl: {"_id", "title", "text"} per line. The document text is
//    (title + " " + text).strip(), as BEIR's and MTEB's SentenceBERT wrappers build it for
//    sentence-transformers models (a missing or null title counts as ""). strip() is Python's.
//  - queries.jsonl: {"_id", "text"} per line, all of them kept in file order.
//  - qrels: TSV with the header "query-id\tcorpus-id\tscore" and integer (graded) scores; a
//    document is relevant when its score is > 0, as pytrec_eval counts relevance. A repeated
//    (query, document) pair keeps the last score, as BEIR's dict does.
// _id values may be strings or integers. Throws Error naming FILE:LINE for a malformed row, a
// repeated _id, an empty corpus or query file, a qrels query id that queries.jsonl lacks (BEIR
// fails on it too), or a relevant qrels document id that the corpus lacks. BEIR keeps such a
// document (it counts as relevant and is never retrieved, lowering recall silently); with
// `allow_missing_documents` so does this.
RetrievalData load_beir_retrieval_data(const std::filesystem::path& corpus_jsonl,
                                       const std::filesystem::path& queries_jsonl,
                                       const std::filesystem::path& qrels_tsv,
                                       bool allow_missing_documents = false);

// The same for a BEIR folder: DIR/corpus.jsonl, DIR/queries.jsonl and DIR/qrels.tsv, or BEIR's
// own DIR/qrels/<split>.tsv when DIR/qrels.tsv does not exist.
RetrievalData load_beir_retrieval_data(const std::filesystem::path& dir,
                                       std::string_view split = "test",
                                       bool allow_missing_documents = false);

}  // namespace embedtune::data
