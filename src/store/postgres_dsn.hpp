// Connection strings of the PostgreSQL store: what it calls itself in messages (the string without
// secrets), and adding an option to a string the operator gave.
#pragma once

#include <string>
#include <string_view>

namespace exchanged::store {

// The connection string (key=value or postgresql:// URI) as key=value pairs, without the password
// or any other option libpq marks as secret. An empty string stays empty; a string libpq cannot
// parse has its password=... and URI user:password@ parts cut out instead.
std::string redact_dsn(std::string_view dsn);

// A message with every password=... and URI user:password@ cut out: libpq's own connection
// messages may quote the connection string it could not parse.
std::string without_secrets(std::string_view message);

// `dsn` with one more key=value (libpq takes the last of a repeated key), for key=value strings
// and postgresql:// URIs alike: e.g. options=-csearch_path=... for a scratch schema.
std::string dsn_with_option(const std::string& dsn, const std::string& key,
                            const std::string& value);

}  // namespace exchanged::store
