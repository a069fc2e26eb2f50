// exchangectl lobster check: one LOBSTER day replayed on a fresh book and compared with the data
// (lobster_check.hpp); exits 1 when anything failed, so a script can gate on it.
#include <cstdio>
#include <string>
#include <vector>

#include "common/cli_args.hpp"
#include "tools/cli/exit_codes.hpp"
#include "tools/cli/subcommands.hpp"
#include "tools/workloads/lobster.hpp"
#include "tools/workloads/lobster_check.hpp"

namespace exchanged::tools {

namespace {

constexpr CliOption kOptions[] = {
    {"message", true},
    {"orderbook", true},
    {"no-orderbook", false},
};

}  // namespace

int lobster_check_main(int argc, char** argv, int first) {
    const CliArgs args = CliArgs::parse(argc, argv, first, kOptions);
    if (!args.positional().empty()) {
        throw CliError("unexpected argument '" + args.positional().front() + "'");
    }
    const auto message_path = args.text("message");
    if (!message_path) {
        throw CliError("--message FILE is required (a LOBSTER message file)");
    }
    if (args.has("orderbook") && args.has("no-orderbook")) {
        throw CliError("--orderbook and --no-orderbook exclude each other");
    }
    std::string orderbook_path;
    if (const auto given = args.text("orderbook")) {
        orderbook_path = *given;
    } else if (!args.has("no-orderbook")) {
        orderbook_path = lobster::orderbook_path_for(*message_path);
    }
    try {
        const std::vector<lobster::Message> messages = lobster::read_messages(*message_path);
        std::vector<lobster::TopOfBook> tops;
        if (!orderbook_path.empty()) {
            tops = lobster::read_orderbook(orderbook_path);
        }
        const std::vector<lobster::TopOfBook>* tops_used = orderbook_path.empty() ? nullptr : &tops;
        const lobster::Conversion day =
            lobster::convert(messages, tops_used, lobster::symbol_for(*message_path));
        const lobster::ReplayCheck check = lobster::check_replay(messages, tops_used, day);
        std::string title = "lobster check " + *message_path;
        title += orderbook_path.empty() ? " (no orderbook file)" : " with " + orderbook_path;
        lobster::print_check(stdout, title, messages, day, check);
        return check.failed() == 0 ? kExitOk : kExitRefused;
    } catch (const lobster::LobsterError& error) {
        std::fprintf(stderr, "lobster check: %s\n", error.what());
        return kExitRefused;
    }
}

}  // namespace exchanged::tools
