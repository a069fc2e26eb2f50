// Standard base64 (RFC 4648, with '=' padding): etcd's JSON gateway carries every key and value
// as base64 bytes.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace exchanged {

std::string base64_encode(std::string_view bytes);

// nullopt for anything that is not canonical padded base64: a wrong length, a character outside
// the alphabet, padding in the middle, or non-zero bits left over in the last character.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace exchanged
