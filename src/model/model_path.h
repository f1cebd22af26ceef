// Where a model named on the command line lives: a local folder, or a Hugging Face model id
// resolved from the local Hugging Face cache, downloaded into it when it is not there.
#pragma once

#include <filesystem>
#include <string>

namespace embedtune {

// Returns `name_or_path` when it is an existing folder. Otherwise, for an id "org/name", the
// snapshot folder in the Hugging Face cache: $HF_HUB_CACHE, else $HF_HOME/hub, else
// ~/.cache/huggingface/hub, layout models--org--name/snapshots/<revision>/ with the revision
// taken from refs/main when present. When the cache has no snapshot, the model is downloaded
// into it (hub::download_snapshot; weights in formats embedtune does not read are skipped),
// unless HF_HUB_OFFLINE is set. Throws embedtune::Error naming every place it looked, or the
// download's error.
std::filesystem::path resolve_model_path(const std::string& name_or_path);

}  // namespace embedtune
