// UTF-8 well-formedness, for every reader of text: the dataset readers (data/text.h) and the
// YAML settings files.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace embedtune::io {

// Length in bytes of the well-formed UTF-8 sequence at text[i], or 0 if it is ill-formed.
std::size_t utf8_sequence_length(std::string_view text, std::size_t i);

// Byte offset of the first byte that does not begin a well-formed UTF-8 sequence (overlong forms,
// surrogates and code points above U+10FFFF are ill-formed, as in RFC 3629), or nullopt when
// `text` is valid UTF-8.
std::optional<std::size_t> find_invalid_utf8(std::string_view text);

}  // namespace embedtune::io
