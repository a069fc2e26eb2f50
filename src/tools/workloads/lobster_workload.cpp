// The LOBSTER benchmark workload (lobster.hpp): a checked day repeated on a fresh book.
#include <filesystem>
#include <system_error>

#include "tools/workloads/lobster.hpp"
#include "tools/workloads/lobster_check.hpp"

namespace exchanged::tools::lobster {

using book::Command;
using book::CommandType;

Workload make_lobster_workload(const std::string& path, std::uint64_t commands) {
    const std::vector<Message> messages = read_messages(path);
    const std::string orderbook = orderbook_path_for(path);
    std::vector<TopOfBook> tops;
    if (!orderbook.empty()) {
        tops = read_orderbook(orderbook);
    }
    const Conversion day = convert(messages, orderbook.empty() ? nullptr : &tops, symbol_for(path));
    if (day.commands.empty()) {
        throw LobsterError(path + ": no message became a command");
    }
    if (day.counts.rejected != 0) {
        throw LobsterError(path + ": " + std::to_string(day.counts.rejected) +
                           " commands were rejected by the book; the day cannot be replayed");
    }
    // A benchmark of a replay that does not match the data would time the wrong work.
    const ReplayCheck check = check_replay(messages, orderbook.empty() ? nullptr : &tops, day);
    if (check.failed() != 0) {
        throw LobsterError(
            path + ": the replay does not match the data (" + std::to_string(check.failed()) +
            " failed; the first: " + check.problems.front() + "); see `exchangectl lobster check`");
    }

    Workload w;
    w.name = "lobster";
    w.instruments = day.instruments;
    w.limits = day.limits;
    w.commands.reserve(commands);
    std::vector<ClientOrderId> next_client_order_id(kRestingAccounts + 1, 0);
    constexpr TimestampNs kDayNs = 86'400'000'000'000;
    std::uint64_t repetitions = 0;

    const auto push = [&](Command c) {
        c.seq = w.commands.size() + 1;
        w.commands.push_back(c);
        return w.commands.size() < commands;
    };
    bool more = commands > 0;
    while (more) {
        // A fresh book each time: the previous repetition's leftovers would sit in front of the
        // next day's orders and break the replay's price-time expectations.
        for (AccountId account = 1; more && account <= kRestingAccounts; ++account) {
            Command mass;
            mass.type = CommandType::MassCancel;
            mass.instrument = day.instruments.front().id;
            mass.account = account;
            mass.client_order_id = ++next_client_order_id[account];
            mass.timestamp_ns = static_cast<TimestampNs>(repetitions) * kDayNs;
            more = push(mass);
        }
        // On an empty book the same commands are accepted in the same order, so the order ids
        // they get are the first repetition's shifted by the ids every earlier one used.
        const OrderId shift = repetitions * day.order_ids_used;
        for (std::size_t i = 0; more && i < day.commands.size(); ++i) {
            Command c = day.commands[i];
            c.timestamp_ns += static_cast<TimestampNs>(repetitions) * kDayNs;
            if (c.type == CommandType::NewOrder) {
                c.client_order_id = ++next_client_order_id[c.account];
            } else {
                c.order_id += shift;
            }
            more = push(c);
        }
        ++repetitions;
    }

    const ConversionCounts& n = day.counts;
    const std::string reconciled =
        orderbook.empty() ? "no orderbook file, not reconciled"
                          : std::to_string(n.reconcile_cancels) + " reconciliation cancels";
    w.description =
        std::filesystem::path(path).filename().string() + ": " + std::to_string(messages.size()) +
        " messages -> " + std::to_string(day.commands.size()) + " commands a day (" +
        std::to_string(n.new_orders) + " adds, " + std::to_string(n.cancels) + " cancels, " +
        std::to_string(n.replaces) + " replaces, " + std::to_string(n.executions) +
        " executions by " + std::to_string(n.aggressors) + " aggressors, " + reconciled + "), " +
        std::to_string(repetitions) + (repetitions == 1 ? " repetition" : " repetitions") +
        "; checked against the data: " + std::to_string(check.passed()) +
        " executions matched; book up to " + std::to_string(check.max_resting) + " resting orders";
    return w;
}

std::vector<std::string> default_message_paths(const std::string& executable) {
    std::vector<std::string> paths{std::string(kDefaultMessageFile)};
    std::error_code ec;
    std::filesystem::path exe = std::filesystem::weakly_canonical(executable, ec);
    if (ec || exe.empty()) {
        exe = executable;
    }
    // build-*/bin/exchangectl: the binary's directory, then build-*, then the repository.
    const std::filesystem::path root = exe.parent_path().parent_path().parent_path();
    if (!root.empty()) {
        paths.push_back((root / kDefaultMessageFile).lexically_normal().string());
    }
    return paths;
}

}  // namespace exchanged::tools::lobster
