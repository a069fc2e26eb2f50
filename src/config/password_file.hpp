// A password kept out of the INI: read from its own file, which only its owner (and at most its
// group, for reading) may touch. The INI names the file; the password never appears in the
// profile, the --check-config summary or a log line.
#pragma once

#include <filesystem>
#include <string>

namespace exchanged::config_detail {

// The file's text without its trailing newline ("\n" or "\r\n", as an editor or `echo` leave
// it). Throws ValueError naming the file for a file that cannot be read, is not a regular file,
// grants others any access or its group write access (naming its mode: chmod 600 or 640), or
// holds an empty password.
std::string read_password_file(const std::filesystem::path& path);

}  // namespace exchanged::config_detail
