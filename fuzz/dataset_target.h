// The body of the dataset fuzz targets (one per format): the input as a dataset file read by
// data::read_records, data::load_pair_dataset (default column mapping, skip_invalid both ways)
// and data::read_texts.
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "data/pair_dataset.h"
#include "data/records.h"
#include "data/text.h"
#include "data/text_input.h"
#include "fuzz_support.h"

namespace embedtune::fuzz {

inline void fuzz_dataset(std::string_view input, data::DataFormat format) {
  const auto path = write_input("data." + std::string(data::format_name(format)), input);
  run_reader(
      [&] {
        data::InvalidRows skipped(path, /*skip_invalid=*/true);
        const auto records = data::read_records(path, format, skipped);
        for (const std::string& message : skipped.messages()) check_message(message, {path});
        for (const data::Record& record : records) {
          require(record.columns.is_object(), "records are objects");
        }
      },
      {path});
  run_reader(
      [&] {
        data::InvalidRows strict(path, /*skip_invalid=*/false);
        (void)data::read_records(path, format, strict);
      },
      {path});
  for (const bool skip_invalid : {false, true}) {
    run_reader(
        [&] {
          const data::PairDataset dataset =
              data::load_pair_dataset(path, format, data::ColumnMapping{}, skip_invalid);
          require(skip_invalid || dataset.skipped.empty(), "nothing is skipped without skip");
          require(dataset.rows_read == dataset.rows.size() + dataset.skipped.size(),
                  "rows_read = rows + skipped");
          for (const std::string& message : dataset.skipped) check_message(message, {path});
          std::set<std::string> ids;
          for (const data::PairRecord& row : dataset.rows) {
            require(!data::is_blank(row.anchor) && !data::is_blank(row.positive),
                    "anchor and positive hold text");
            require(ids.insert(row.id.dump()).second, "ids are unique");
          }
        },
        {path});
  }
  run_reader([&] { (void)data::read_texts(path, "question"); }, {path});
}

}  // namespace embedtune::fuzz
