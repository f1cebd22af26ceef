// Reading a Parquet dataset file into records, through Apache Arrow's C++ Parquet reader (the
// libraries pyarrow ships). Arrow stays inside parquet.cc: this header has plain types only.
#pragma once

#include <filesystem>
#include <vector>

#include "data/records.h"

namespace embedtune::data {

// False when this build was configured without Arrow (-DEMBEDTUNE_PARQUET=OFF; the sanitizer
// build may be), in which case read_parquet_records throws Error saying so.
bool parquet_available();

// Every row of the Parquet file `path` in file order, row group by row group, as the JSON Lines
// reader gives them: a JSON object per row, columns in the file's order, `line` the 1-based row
// number. Values map from Arrow types as Hugging Face datasets would show them: string,
// large_string and string_view -> JSON strings; signed and unsigned integers -> integers; float
// and double -> numbers; bool -> booleans; null values (and the null type) -> null; dictionary
// columns -> their values; lists -> arrays; structs -> objects.
// A string that is not valid UTF-8 makes its row invalid (reported to `invalid`). Throws Error
// naming the file for: a missing or unreadable file, one that is not Parquet or is damaged
// (truncated, a bad footer or page), a column of another type (binary, dates, decimals, ...),
// repeated column names, or a build without Parquet.
std::vector<Record> read_parquet_records(const std::filesystem::path& path, InvalidRows& invalid);

}  // namespace embedtune::data
