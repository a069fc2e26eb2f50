#include "store/postgres_dsn.hpp"

#include <libpq-fe.h>

#include <cctype>
#include <memory>
#include <regex>

namespace exchanged::store {
namespace {

// libpq's quoting for key=value values: single quotes around anything with spaces or quotes.
std::string quoted(std::string_view value) {
    const bool plain = !value.empty() && value.find_first_of(" \t\n'\\") == std::string_view::npos;
    if (plain) {
        return std::string(value);
    }
    std::string out = "'";
    for (const char c : value) {
        if (c == '\'' || c == '\\') {
            out += '\\';
        }
        out += c;
    }
    return out + "'";
}

std::string percent_encoded(std::string_view value) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (const char c : value) {
        const auto byte = static_cast<unsigned char>(c);
        if (std::isalnum(byte) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
            out += c;
        } else {
            out += '%';
            out += kHex[byte >> 4];
            out += kHex[byte & 15];
        }
    }
    return out;
}

}  // namespace

std::string without_secrets(std::string_view text) {
    static const std::regex password(R"(password\s*=\s*('([^'\\]|\\.)*'?|\S*))");
    static const std::regex uri_secret(R"(://([^:/@\s]*):[^@/\s]*@)");
    const std::string out = std::regex_replace(std::string(text), password, "");
    return std::regex_replace(out, uri_secret, "://$1@");
}

std::string redact_dsn(std::string_view dsn) {
    char* error = nullptr;
    std::unique_ptr<PQconninfoOption, decltype(&PQconninfoFree)> options(
        PQconninfoParse(std::string(dsn).c_str(), &error), &PQconninfoFree);
    if (!options) {
        PQfreemem(error);
        return without_secrets(dsn);
    }
    std::string out;
    for (const PQconninfoOption* o = options.get(); o->keyword != nullptr; ++o) {
        // dispchar "*" is libpq's own mark for a secret (password, sslpassword).
        if (o->val == nullptr || (o->dispchar != nullptr && o->dispchar[0] == '*')) {
            continue;
        }
        if (!out.empty()) {
            out += ' ';
        }
        out += std::string(o->keyword) + "=" + quoted(o->val);
    }
    return out;
}

std::string dsn_with_option(const std::string& dsn, const std::string& key,
                            const std::string& value) {
    if (dsn.starts_with("postgresql://") || dsn.starts_with("postgres://")) {
        const char separator = dsn.find('?') == std::string::npos ? '?' : '&';
        return dsn + separator + key + "=" + percent_encoded(value);
    }
    return dsn + (dsn.empty() ? "" : " ") + key + "=" + quoted(value);
}

}  // namespace exchanged::store
