// Reading Parquet files: every row equals what pyarrow reads (tests/python/oracle_parquet.py
// writes the files with pyarrow and records pq.read_table(file).to_pylist() beside them).
#include "data/parquet.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "data_test_util.h"
#include "io/json.h"

namespace embedtune::data {
namespace {

TEST(ParquetReader, RowsEqualWhatPyarrowReads) {
  ASSERT_TRUE(parquet_available()) << "built with EMBEDTUNE_PARQUET=OFF";
  const auto dir = embedtune::testing::testdata_dir("parquet", "parquet.json");
  const nlohmann::json manifest = io::read_json_file(dir / "parquet.json");
  ASSERT_EQ(manifest["files"].size(), 5u);
  for (const nlohmann::json& file : manifest["files"]) {
    const auto path = dir / file["file"].get<std::string>();
    InvalidRows invalid(path, /*skip_invalid=*/false);
    const std::vector<Record> records = read_records(path, DataFormat::kParquet, invalid);
    const nlohmann::json& expected = file["rows"];
    ASSERT_EQ(records.size(), expected.size()) << path;
    for (std::size_t i = 0; i < records.size(); ++i) {
      EXPECT_EQ(records[i].line, i + 1) << path;
      EXPECT_EQ(records[i].columns, expected[i])
          << path << " row " << i + 1 << ": ours " << records[i].columns.dump() << "\npyarrow's "
          << expected[i].dump();
    }
  }
}

}  // namespace
}  // namespace embedtune::data
