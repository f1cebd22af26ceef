// Where a model named on the command line lives: a local folder, or a Hugging Face model id
// resolved from the local Hugging Face cache (nothing is ever downloaded).
#pragma once

#include <filesystem>
#include <string>

namespace embedtune {

// Returns `name_or_path` when it is an existing folder. Otherwise, for an id "org/name", the
// snapshot folder in the Hugging Face cache: $HF_HUB_CACHE, else $HF_HOME/hub, else
// ~/.cache/huggingface/hub, layout models--org--name/snapshots/<revision>/ with the revision
// taken from refs/main when present. Throws embedtune::Error naming every place it looked.
std::filesystem::path resolve_model_path(const std::string& name_or_path);

}  // namespace embedtune
