#include "config/password_file.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>

#include "config/values.hpp"

namespace exchanged::config_detail {

namespace {

std::string octal_mode(mode_t mode) {
    char text[8];
    std::snprintf(text, sizeof text, "%04o", static_cast<unsigned>(mode & 07777));
    return text;
}

}  // namespace

mode_t check_readable_file(const std::filesystem::path& path) {
    const std::string name = "'" + path.string() + "'";
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        throw ValueError(name + ": " + std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
        throw ValueError(name + " is not a regular file");
    }
    if (!std::ifstream(path, std::ios::binary).is_open()) {
        throw ValueError(name + ": cannot be read: " + std::strerror(errno));
    }
    return st.st_mode;
}

void check_private_file(const std::filesystem::path& path, std::string_view what) {
    const mode_t mode = check_readable_file(path);
    // Others must have no access at all; a group may read (a service group), never write.
    if ((mode & (S_IRWXO | S_IWGRP)) != 0) {
        throw ValueError("'" + path.string() + "' has mode " + octal_mode(mode) + ": " +
                         std::string(what) +
                         " must not be readable by others (chmod 600, or 640 for a group that "
                         "may read it)");
    }
}

std::string read_password_file(const std::filesystem::path& path) {
    const std::string name = "'" + path.string() + "'";
    check_private_file(path, "a password file");
    std::ifstream file(path, std::ios::binary);
    if (!file.is_open()) {
        throw ValueError(name + ": cannot be read: " + std::strerror(errno));
    }
    std::string password{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
    if (file.bad()) {
        throw ValueError(name + ": reading it failed");
    }
    if (!password.empty() && password.back() == '\n') {
        password.pop_back();
        if (!password.empty() && password.back() == '\r') {
            password.pop_back();
        }
    }
    if (password.empty()) {
        throw ValueError(name + " holds no password");
    }
    return password;
}

}  // namespace exchanged::config_detail
