// Dataset files named on the Hugging Face Hub: hf://datasets/org/name[@revision][/path], where
// path is a file, a folder or a split name ("train"), as HfFileSystem and `datasets` name them.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace embedtune::data {

// True for a name starting with "hf://".
bool is_hub_url(std::string_view name);

// The local file for `name`: `name` itself unless is_hub_url(name). For hf://datasets/org/name...
// the repository's data files (.parquet, .jsonl, .json, .csv) are downloaded into the Hugging
// Face cache (hub::download_snapshot; offline: taken from the cache) and one is chosen:
//  - a path naming a file: that file (only it is downloaded);
//  - a path naming a folder: the one data file below it;
//  - a split name: the one data file whose name or folder is that split ("train.jsonl",
//    "data/train-00000-of-00001.parquet", "train/x.csv");
//  - no path: the "train" split if there is one, else the repository's one data file.
// Throws Error naming the URL when it is malformed, the download fails, or no file or several
// files match (listing them, so the user can name one).
std::filesystem::path local_dataset_file(const std::string& name);

}  // namespace embedtune::data
