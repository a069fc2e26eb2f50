#include "common/cli_args.hpp"

#include <charconv>
#include <cstdlib>

namespace exchanged {

CliArgs CliArgs::parse(int argc, char** argv, int first, std::span<const CliOption> options) {
    CliArgs args;
    for (int i = first; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (!arg.starts_with("--")) {
            args.positional_.emplace_back(arg);
            continue;
        }
        std::string_view name = arg.substr(2);
        std::optional<std::string_view> inline_value;
        if (auto eq = name.find('='); eq != std::string_view::npos) {
            inline_value = name.substr(eq + 1);
            name = name.substr(0, eq);
        }
        const CliOption* option = nullptr;
        for (const CliOption& candidate : options) {
            if (candidate.name == name) {
                option = &candidate;
            }
        }
        if (option == nullptr) {
            throw CliError("unknown option --" + std::string(name));
        }
        std::string value;
        if (option->takes_value) {
            if (inline_value) {
                value = *inline_value;
            } else if (i + 1 < argc) {
                value = argv[++i];
            } else {
                throw CliError("option --" + std::string(name) + " needs a value");
            }
        } else if (inline_value) {
            throw CliError("option --" + std::string(name) + " takes no value");
        }
        args.values_[std::string(name)] = value;
    }
    return args;
}

std::optional<std::string> CliArgs::text(std::string_view name) const {
    auto it = values_.find(std::string(name));
    if (it == values_.end()) {
        return std::nullopt;
    }
    return it->second;
}

std::string CliArgs::text_or(std::string_view name, std::string fallback) const {
    auto value = text(name);
    return value ? *value : fallback;
}

std::uint64_t parse_count(std::string_view text, std::string_view what) {
    std::uint64_t multiplier = 1;
    std::string_view digits = text;
    if (!digits.empty()) {
        switch (digits.back()) {
            case 'k': case 'K': multiplier = 1'000; break;
            case 'm': case 'M': multiplier = 1'000'000; break;
            case 'g': case 'G': multiplier = 1'000'000'000; break;
            default: break;
        }
        if (multiplier != 1) {
            digits.remove_suffix(1);
        }
    }
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
        value > UINT64_MAX / multiplier) {
        throw CliError(std::string(what) + ": '" + std::string(text) +
                       "' is not a whole number (suffixes k, m, g allowed)");
    }
    return value * multiplier;
}

std::uint64_t CliArgs::unsigned_or(std::string_view name, std::uint64_t fallback, std::uint64_t min,
                                   std::uint64_t max) const {
    auto value = text(name);
    if (!value) {
        return fallback;
    }
    const std::string what = "--" + std::string(name);
    const std::uint64_t parsed = parse_count(*value, what);
    if (parsed < min || parsed > max) {
        throw CliError(what + ": " + std::to_string(parsed) + " is outside " + std::to_string(min) +
                       ".." + std::to_string(max));
    }
    return parsed;
}

double CliArgs::double_or(std::string_view name, double fallback) const {
    auto value = text(name);
    if (!value) {
        return fallback;
    }
    char* end = nullptr;
    const double parsed = std::strtod(value->c_str(), &end);
    if (value->empty() || end != value->c_str() + value->size() || !(parsed >= 0)) {
        throw CliError("--" + std::string(name) + ": '" + *value + "' is not a non-negative number");
    }
    return parsed;
}

}  // namespace exchanged
