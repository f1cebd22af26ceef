// A dataset of (anchor, positive[, negative]) text pairs with ids: the reference notebook's
// rename_column("question" -> "anchor", "context" -> "positive") + add_column("id", range(N)).
#pragma once

#include <cstddef>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/records.h"

namespace embedtune::data {

// Which input columns become anchor, positive and (optionally) negative.
struct ColumnMapping {
  std::string anchor_column = "question";
  std::string positive_column = "context";
  std::optional<std::string> negative_column;
};

struct PairRecord {
  nlohmann::json id;  // an integer or a string, unique in the dataset
  std::string anchor;
  std::string positive;
  std::optional<std::string> negative;  // set exactly when the mapping names a negative column
  std::size_t line = 0;                 // where the row begins in the input file
};

struct PairDataset {
  std::vector<PairRecord> rows;      // valid rows in input order
  std::size_t rows_read = 0;         // rows in the file: valid plus skipped
  bool ids_from_input = false;       // the file has an "id" column (else ids are 0..N-1)
  std::vector<std::string> skipped;  // one "FILE:LINE: ..." message per skipped row
};

// Name of the id column, kept from the input when present, else added.
inline constexpr const char* kIdColumn = "id";

// Reads `path` in `format` and maps its columns. A row is invalid when a mapped column is
// missing, is not a JSON string, or holds empty or whitespace-only text, or when the data has an
// "id" column and the row's id is missing, not an integer or string, or already used (1 and "1"
// count as the same id, since evaluation keys ids as text). In CSV files, where every value is
// text, an id column whose values are all integers ("-?[0-9]+") becomes integer ids, as pandas
// would read it. Without an "id" column, ids 0..N-1 are given to the valid rows in input order.
//
// Invalid rows throw Error ("FILE:LINE: column "question": expected a string, found number 42;
// fix the row or pass --skip-invalid") unless `skip_invalid`, in which case they are left out
// and listed in `skipped`. A CSV header or Parquet schema without a mapped column, or JSON data
// where no row has it, throws whatever `skip_invalid` says, since then every row would be invalid.
// Messages name the settings with `key_prefix`: "--" for prepare's flags (--anchor-column),
// "data." for a run recipe (data.anchor_column).
PairDataset load_pair_dataset(const std::filesystem::path& path, DataFormat format,
                              const ColumnMapping& columns, bool skip_invalid,
                              std::string_view key_prefix = "--");

// The output record: {"id", "anchor", "positive"[, "negative"]} in that key order.
nlohmann::ordered_json to_output_json(const PairRecord& row);

}  // namespace embedtune::data
