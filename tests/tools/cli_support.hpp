// What the tests of exchangectl against the built daemon share: a daemon on a free port with its
// address as exchangectl takes it, exchangectl runs with their outputs in the test's directory,
// and readers for the JSON line and the journal those runs leave.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "daemon_process.hpp"
#include "exchangectl_process.hpp"
#include "temp_file.hpp"

namespace exchanged::test {

struct Daemon {
    std::unique_ptr<DaemonProcess> process;
    std::string address;  // HOST:PORT, for --connect
};

// The built exchanged on `config`, data under dir/data, output in dir/output_name; ready.
Daemon start_daemon(const TempDir& dir, const std::string& config, const std::string& output_name);

// Runs exchangectl to completion, its outputs in `dir` under a name of their own.
CommandResult ctl(const TempDir& dir, const std::vector<std::string>& args);

// The number after `"key":` in a one-line JSON object; fails the test when absent.
double json_number(const std::string& json, const std::string& key);

std::size_t count_lines_starting(const std::string& path, const std::string& prefix);

std::string last_line(const std::string& text);

}  // namespace exchanged::test
