// Internal to the tokenizer layer: the tokenizer classes that transformers 5.24 rebuilds from a
// tokenizer.json instead of running the file as it is (what sentence-transformers gets through
// AutoTokenizer), applied to a spec read from that file.
#pragma once

#include <filesystem>

#include "tokenizer/tokenizer_json_reader.h"

namespace embedtune {

// Reads tokenizer_class (and the options the class takes: add_prefix_space, do_lower_case, the
// special tokens...) from `config_file`, and when it is XLMRobertaTokenizer, RobertaTokenizer,
// Qwen2Tokenizer or MPNetTokenizer (with or without "Fast"), rebuilds `spec`'s pipeline from
// `root` (the tokenizer.json) as that class's __init__ does, noting each change in
// spec.deviations. Other classes leave `spec` as the file says. Throws embedtune::Error naming
// the file and key on a bad config.
void apply_transformers_class(const tokenizer_json::Node& root,
                              const std::filesystem::path& config_file, TokenizerSpec& spec);

}  // namespace embedtune
