// Reading Parquet files with Arrow's Parquet reader (see parquet.h). The only file that includes
// Arrow's headers; without EMBEDTUNE_WITH_PARQUET it says the build cannot read Parquet.
#include "data/parquet.h"

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "io/error.h"
#include "io/file.h"

#ifdef EMBEDTUNE_WITH_PARQUET
#include <arrow/api.h>
#include <arrow/io/file.h>
#include <parquet/arrow/reader.h>

#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "data/text.h"
#endif

namespace embedtune::data {

#ifndef EMBEDTUNE_WITH_PARQUET

bool parquet_available() { return false; }

std::vector<Record> read_parquet_records(const std::filesystem::path& path, InvalidRows&) {
  fail(
      "{}: expected a build of embedtune that reads Parquet, found one configured without Arrow "
      "(EMBEDTUNE_PARQUET=OFF); use the release build (make build) or convert the file to JSON "
      "Lines",
      path.string());
}

#else

namespace {

// A string value that is not UTF-8: its first bad byte, for the row's message.
struct BadUtf8 {
  unsigned char byte;
};

// Whether values of `type` map to JSON (see parquet.h); other types are refused up front.
bool supported(const arrow::DataType& type) {
  switch (type.id()) {
    case arrow::Type::NA:
    case arrow::Type::BOOL:
    case arrow::Type::INT8:
    case arrow::Type::INT16:
    case arrow::Type::INT32:
    case arrow::Type::INT64:
    case arrow::Type::UINT8:
    case arrow::Type::UINT16:
    case arrow::Type::UINT32:
    case arrow::Type::UINT64:
    case arrow::Type::FLOAT:
    case arrow::Type::DOUBLE:
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING:
    case arrow::Type::STRING_VIEW:
      return true;
    case arrow::Type::DICTIONARY:
      return supported(*static_cast<const arrow::DictionaryType&>(type).value_type());
    case arrow::Type::LIST:
    case arrow::Type::LARGE_LIST:
    case arrow::Type::FIXED_SIZE_LIST:
      return supported(*static_cast<const arrow::BaseListType&>(type).value_type());
    case arrow::Type::STRUCT:
      for (const auto& field : type.fields()) {
        if (!supported(*field->type())) return false;
      }
      return true;
    default:
      return false;
  }
}

nlohmann::json text_value(std::string_view text) {
  if (const auto bad = find_invalid_utf8(text)) {
    throw BadUtf8{static_cast<unsigned char>(text[*bad])};
  }
  return std::string(text);
}

template <class ListArray>
nlohmann::json list_value(const ListArray& list, int64_t i);

// Value i of `array` as JSON; the type was checked by supported(). Throws BadUtf8.
nlohmann::json value_at(const arrow::Array& array, int64_t i) {
  if (array.IsNull(i)) return nullptr;
  switch (array.type_id()) {
    case arrow::Type::NA:
      return nullptr;
    case arrow::Type::BOOL:
      return static_cast<const arrow::BooleanArray&>(array).Value(i);
    case arrow::Type::INT8:
      return static_cast<const arrow::Int8Array&>(array).Value(i);
    case arrow::Type::INT16:
      return static_cast<const arrow::Int16Array&>(array).Value(i);
    case arrow::Type::INT32:
      return static_cast<const arrow::Int32Array&>(array).Value(i);
    case arrow::Type::INT64:
      return static_cast<const arrow::Int64Array&>(array).Value(i);
    case arrow::Type::UINT8:
      return static_cast<const arrow::UInt8Array&>(array).Value(i);
    case arrow::Type::UINT16:
      return static_cast<const arrow::UInt16Array&>(array).Value(i);
    case arrow::Type::UINT32:
      return static_cast<const arrow::UInt32Array&>(array).Value(i);
    case arrow::Type::UINT64:
      return static_cast<const arrow::UInt64Array&>(array).Value(i);
    case arrow::Type::FLOAT:
      return static_cast<double>(static_cast<const arrow::FloatArray&>(array).Value(i));
    case arrow::Type::DOUBLE:
      return static_cast<const arrow::DoubleArray&>(array).Value(i);
    case arrow::Type::STRING:
      return text_value(static_cast<const arrow::StringArray&>(array).GetView(i));
    case arrow::Type::LARGE_STRING:
      return text_value(static_cast<const arrow::LargeStringArray&>(array).GetView(i));
    case arrow::Type::STRING_VIEW:
      return text_value(static_cast<const arrow::StringViewArray&>(array).GetView(i));
    case arrow::Type::DICTIONARY: {
      const auto& dictionary = static_cast<const arrow::DictionaryArray&>(array);
      return value_at(*dictionary.dictionary(), dictionary.GetValueIndex(i));
    }
    case arrow::Type::LIST:
      return list_value(static_cast<const arrow::ListArray&>(array), i);
    case arrow::Type::LARGE_LIST:
      return list_value(static_cast<const arrow::LargeListArray&>(array), i);
    case arrow::Type::FIXED_SIZE_LIST:
      return list_value(static_cast<const arrow::FixedSizeListArray&>(array), i);
    case arrow::Type::STRUCT: {
      const auto& structs = static_cast<const arrow::StructArray&>(array);
      nlohmann::json object = nlohmann::json::object();
      for (int f = 0; f < structs.num_fields(); ++f) {
        object[structs.struct_type()->field(f)->name()] = value_at(*structs.field(f), i);
      }
      return object;
    }
    default:
      throw std::logic_error("value_at: type not checked by supported()");
  }
}

template <class ListArray>
nlohmann::json list_value(const ListArray& list, int64_t i) {
  nlohmann::json items = nlohmann::json::array();
  const int64_t begin = list.value_offset(i);
  const int64_t end = begin + list.value_length(i);
  for (int64_t k = begin; k < end; ++k) items.push_back(value_at(*list.values(), k));
  return items;
}

// The first 4 bytes of `path` are Parquet's magic "PAR1" (a file written in full also ends with
// it; one that starts with it but fails to open is damaged rather than another format).
bool starts_with_magic(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  in.read(magic, sizeof magic);
  return in.gcount() == 4 && std::string_view(magic, 4) == "PAR1";
}

[[noreturn]] void fail_damaged(const std::filesystem::path& path, std::string_view detail) {
  fail(
      "{}: expected a readable Parquet file, found a damaged one (Arrow: {}); write the file again",
      path.string(), detail);
}

template <class T>
T value_or_fail(arrow::Result<T> result, const std::filesystem::path& path) {
  if (!result.ok()) fail_damaged(path, result.status().message());
  return std::move(result).ValueUnsafe();
}

std::vector<Record> read_rows(const std::filesystem::path& path, InvalidRows& invalid) {
  io::check_readable_file(path);
  if (!starts_with_magic(path)) {
    fail(
        "{}: expected a Parquet file, found no Parquet magic bytes \"PAR1\" at its start; write it "
        "with pyarrow or pandas' to_parquet, or name it with the extension of its real format",
        path.string());
  }
  // The system allocator, not the wheel's bundled jemalloc/mimalloc: the records are copied out
  // row group by row group, and sanitizers see every allocation.
  arrow::MemoryPool* pool = arrow::system_memory_pool();
  std::shared_ptr<arrow::io::ReadableFile> file =
      value_or_fail(arrow::io::ReadableFile::Open(path.string(), pool), path);
  std::unique_ptr<parquet::arrow::FileReader> reader =
      value_or_fail(parquet::arrow::OpenFile(file, pool), path);

  std::shared_ptr<arrow::Schema> schema;
  if (const arrow::Status status = reader->GetSchema(&schema); !status.ok()) {
    fail_damaged(path, status.message());
  }
  std::set<std::string> seen;
  for (const auto& field : schema->fields()) {
    if (!seen.insert(field->name()).second) {
      fail("{}: expected unique column names, found {} twice; rename one", path.string(),
           quote_for_message(field->name()));
    }
    if (!supported(*field->type())) {
      fail(
          "{}: column {}: expected text, numbers, booleans, lists or structs, found Arrow type {}; "
          "drop the column or cast it to string before writing the file",
          path.string(), quote_for_message(field->name()), field->type()->ToString());
    }
  }

  std::vector<Record> records;
  std::size_t row_number = 0;  // rows before this row group
  for (int group = 0; group < reader->num_row_groups(); ++group) {
    const std::shared_ptr<arrow::Table> table = value_or_fail(reader->ReadRowGroup(group), path);
    const auto n = static_cast<std::size_t>(table->num_rows());
    std::vector<nlohmann::json> rows(n, nlohmann::json::object());
    std::vector<std::optional<std::string> > problems(n);
    for (int c = 0; c < table->num_columns(); ++c) {
      const std::string& name = table->field(c)->name();
      std::size_t r = 0;
      for (const auto& chunk : table->column(c)->chunks()) {
        for (int64_t i = 0; i < chunk->length(); ++i, ++r) {
          try {
            rows[r][name] = value_at(*chunk, i);
          } catch (const BadUtf8& bad) {
            if (!problems[r]) {
              problems[r] = fmt::format("column {}: expected UTF-8 text, found byte 0x{:02X}",
                                        quote_for_message(name), bad.byte);
            }
          }
        }
      }
    }
    for (std::size_t r = 0; r < n; ++r) {
      const std::size_t line = row_number + r + 1;
      if (problems[r]) {
        invalid.report(line, *problems[r]);
        continue;
      }
      records.push_back({std::move(rows[r]), line});
    }
    row_number += n;
  }
  return records;
}

}  // namespace

bool parquet_available() { return true; }

std::vector<Record> read_parquet_records(const std::filesystem::path& path, InvalidRows& invalid) {
  try {
    return read_rows(path, invalid);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    // Arrow's Parquet code throws parquet::ParquetException for some damage it finds.
    fail_damaged(path, e.what());
  }
}

#endif

}  // namespace embedtune::data
