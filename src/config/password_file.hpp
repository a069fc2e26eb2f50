// A password kept out of the INI: read from its own file, which only its owner (and at most its
// group, for reading) may touch. The INI names the file; the password never appears in the
// profile, the --check-config summary or a log line.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>

namespace exchanged::config_detail {

// The file's text without its trailing newline ("\n" or "\r\n", as an editor or `echo` leave
// it). Throws ValueError naming the file for a file that cannot be read, is not a regular file,
// grants others any access or its group write access (naming its mode: chmod 600 or 640), or
// holds an empty password.
std::string read_password_file(const std::filesystem::path& path);

// Throws ValueError naming the file when it is missing, not a regular file or cannot be read;
// returns its mode (from the one stat the check made).
mode_t check_readable_file(const std::filesystem::path& path);
// check_readable_file, and refused (naming its mode) when others have any access or its group
// may write: `what` names the file's kind in the message ("a password file").
void check_private_file(const std::filesystem::path& path, std::string_view what);

}  // namespace exchanged::config_detail
