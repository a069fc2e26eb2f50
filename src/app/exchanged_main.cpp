// exchanged: the exchange daemon. For now it loads and checks a profile, builds the matching core
// from it and waits for SIGINT/SIGTERM; the network gateway and the WAL arrive with the daemon
// issue. Exit codes: 0 clean, 1 runtime failure, 2 configuration or usage error.
#include <csignal>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include "book/matcher.hpp"
#include "common/cli_args.hpp"
#include "engine/config.hpp"
#include "engine/config_summary.hpp"
#include "engine/shutdown_signal.hpp"

namespace {

using exchanged::CliArgs;
using exchanged::CliError;
using exchanged::CliOption;
namespace engine = exchanged::engine;

constexpr CliOption kOptions[] = {
    {"config", true},        {"data-dir", true}, {"listen", true},
    {"check-config", false}, {"recover", false}, {"help", false},
};

constexpr std::string_view kUsage =
    "usage: exchanged --config FILE [--data-dir DIR] [--listen HOST:PORT] [--check-config] "
    "[--recover] [--help]\n";

void print_usage(std::FILE* out) {
    std::fprintf(out, "%.*s", static_cast<int>(kUsage.size()), kUsage.data());
}

engine::Config load_from_args(const CliArgs& args) {
    if (!args.positional().empty()) {
        throw CliError("unexpected argument '" + args.positional().front() + "'");
    }
    if (args.has("check-config") && args.has("recover")) {
        throw CliError("--check-config and --recover exclude each other");
    }
    const auto path = args.text("config");
    if (!path) {
        throw CliError("--config FILE is required");
    }
    engine::ConfigOverrides overrides;
    overrides.data_dir = args.text("data-dir");
    overrides.listen = args.text("listen");
    return engine::load_config(*path, overrides);
}

int check_config(const engine::Config& config) {
    std::printf("exchanged: config ok: %s\n%s", config.source_path.c_str(),
                engine::describe_config(config).c_str());
    return 0;
}

int recover(const engine::Config& config) {
    std::printf(
        "exchanged: recover: profile=%s data_dir=%s: nothing to recover yet (the WAL is "
        "not wired into the daemon before the daemon issue)\n",
        config.profile.c_str(), config.server.data_dir.c_str());
    return 0;
}

exchanged::book::Matcher build_matcher(const engine::Config& config) {
    exchanged::book::MatcherLimits limits;
    limits.max_orders = config.engine.max_orders;
    limits.max_accounts = config.engine.max_accounts;
    limits.client_order_id_window = config.engine.client_order_id_window;
    try {
        return exchanged::book::Matcher(config.instruments, limits);
    } catch (const std::invalid_argument& error) {
        // The loader checks what the matcher checks, so this means the two drifted apart.
        throw engine::ConfigError(config.source_path + ": " + error.what(), config.source_path, 0,
                                  "", "");
    }
}

void create_data_dir(const std::filesystem::path& dir) {
    std::error_code error;
    std::filesystem::create_directories(dir, error);
    if (error) {
        throw std::runtime_error("cannot create data_dir " + dir.string() + ": " + error.message());
    }
}

int serve(const engine::Config& config) {
    const exchanged::book::Matcher matcher = build_matcher(config);
    create_data_dir(config.server.data_dir);
    std::fprintf(stderr,
                 "exchanged: ready: profile=%s instruments=%zu accounts=%zu data_dir=%s "
                 "(network and WAL arrive with the daemon issue)\n",
                 config.profile.c_str(), matcher.instruments().size(), config.accounts.size(),
                 config.server.data_dir.c_str());
    const int signal_number = engine::wait_for_shutdown_signal();
    std::fprintf(stderr, "exchanged: %s received; clean exit\n",
                 signal_number == SIGINT ? "SIGINT" : "SIGTERM");
    return 0;
}

int run(int argc, char** argv) {
    // Before any thread exists, so that every later thread inherits the mask.
    engine::block_shutdown_signals();
    const CliArgs args = CliArgs::parse(argc, argv, 1, kOptions);
    if (args.has("help")) {
        print_usage(stdout);
        return 0;
    }
    const engine::Config config = load_from_args(args);
    if (args.has("check-config")) {
        return check_config(config);
    }
    if (args.has("recover")) {
        return recover(config);
    }
    return serve(config);
}

}  // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const CliError& error) {
        std::fprintf(stderr, "exchanged: error: %s\n", error.what());
        print_usage(stderr);
        return 2;
    } catch (const engine::ConfigError& error) {
        std::fprintf(stderr, "exchanged: error: %s\n", error.what());
        return 2;
    } catch (const std::exception& error) {
        std::fprintf(stderr, "exchanged: error: %s\n", error.what());
        return 1;
    }
}
