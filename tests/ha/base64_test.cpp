#include <catch2/catch.hpp>

#include "common/base64.hpp"

namespace exchanged {

TEST_CASE("base64 encodes the RFC 4648 test vectors and decodes them back", "[base64]") {
    const std::pair<const char*, const char*> vectors[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [plain, encoded] : vectors) {
        CHECK(base64_encode(plain) == encoded);
        CHECK(base64_decode(encoded) == std::optional<std::string>(plain));
    }
}

TEST_CASE("base64 round-trips every byte value", "[base64]") {
    std::string bytes;
    for (int i = 0; i < 256; ++i) {
        bytes += static_cast<char>(i);
    }
    for (std::size_t len = 0; len <= bytes.size(); len += 37) {
        const std::string part = bytes.substr(bytes.size() - len);
        CHECK(base64_decode(base64_encode(part)) == std::optional<std::string>(part));
    }
}

TEST_CASE("base64 refuses text that is not canonical padded base64", "[base64]") {
    for (const char* bad :
         {"Zg", "Zg=", "Z===", "====", "Zm9v!A==", "Zg==Zg==", "Zh==", "Zm9=", "Zm 9v", "Zm9v\n"}) {
        INFO(bad);
        CHECK_FALSE(base64_decode(bad).has_value());
    }
}

}  // namespace exchanged
