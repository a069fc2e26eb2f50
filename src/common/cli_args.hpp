// A small command-line parser for the `--name value` and `--flag` options of exchangectl and
// exchanged. Every mistake (unknown option, missing or malformed value) raises CliError with a
// message naming the option, so mains print it and exit 2 instead of guessing.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace exchanged {

class CliError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct CliOption {
    std::string_view name;  // without the leading dashes
    bool takes_value;
};

class CliArgs {
public:
    // Parses argv[first..argc); positional arguments are kept in order.
    static CliArgs parse(int argc, char** argv, int first, std::span<const CliOption> options);

    bool has(std::string_view name) const { return values_.count(std::string(name)) != 0; }
    const std::vector<std::string>& positional() const { return positional_; }

    std::optional<std::string> text(std::string_view name) const;
    std::string text_or(std::string_view name, std::string fallback) const;
    // Whole numbers accept an optional k/m/g suffix (powers of 1000) so `--orders 10m` works.
    std::uint64_t unsigned_or(std::string_view name, std::uint64_t fallback, std::uint64_t min = 0,
                              std::uint64_t max = UINT64_MAX) const;
    double double_or(std::string_view name, double fallback) const;

private:
    std::map<std::string, std::string> values_;
    std::vector<std::string> positional_;
};

// Parses a whole number with an optional k/m/g suffix; throws CliError naming `what`.
std::uint64_t parse_count(std::string_view text, std::string_view what);

}  // namespace exchanged
