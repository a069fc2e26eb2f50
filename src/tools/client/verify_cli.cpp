// exchangectl verify: checks a restarted daemon against an acknowledgement journal. The journal's
// own consistency is checked first (tools/journal_check.hpp); then, per account in the journal, one
// session asks for the status of every accepted order, pipelined, and compares the answers with
// what the journal's fills, cancels and replaces left of each order. Fills count through their
// orders: the daemon keeps no trades, so each trade itself is checked by `store verify`. Each
// failure is one line; the last line is `N passed, M failed`; exit 0 only when M is 0.
#include <cinttypes>
#include <cstdio>
#include <deque>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/cli_args.hpp"
#include "engine/shard_layout.hpp"
#include "tools/cli/exit_codes.hpp"
#include "tools/cli/subcommands.hpp"
#include "tools/client/client_connection.hpp"
#include "tools/client/client_profile.hpp"
#include "tools/client/journal_check.hpp"

namespace exchanged::tools {
namespace {

constexpr CliOption kOptions[] = {
    {"connect", true}, {"journal", true}, {"config", true}, {"window", true}, {"timeout", true},
};

// Status requests go to the shard queue: a window far below its capacity avoids `busy`, and a
// `busy` that happens anyway is retried rather than counted as a failure.
constexpr std::size_t kDefaultWindow = 512;

struct AccountRun {
    std::string account;
    std::vector<std::size_t> orders;  // indexes into JournalCheck::orders()
};

// Asks for every order of one account and feeds the answers to `check`.
// `answered[i]` is set once order i got its verdict, so a session that breaks midway fails only
// the orders it had not answered.
void verify_account(const std::string& target, const std::string& secret, const AccountRun& run,
                    JournalCheck& check, std::vector<bool>& answered, std::size_t window,
                    std::chrono::milliseconds timeout) {
    const std::vector<JournaledOrder>& orders = check.orders();
    ClientConnection connection(target, timeout);
    connection.login(run.account, secret, timeout);
    std::deque<std::size_t> to_ask(run.orders.begin(), run.orders.end());
    std::map<std::pair<InstrumentId, ClientOrderId>, std::size_t> waiting;
    Clock::time_point deadline = Clock::now() + timeout;
    while (!to_ask.empty() || !waiting.empty()) {
        while (!to_ask.empty() && waiting.size() < window) {
            const JournaledOrder& order = orders[to_ask.front()];
            connection.queue(net::OrderStatusRequest{order.instrument, order.client_order_id});
            waiting.emplace(std::make_pair(order.instrument, order.client_order_id),
                            to_ask.front());
            to_ask.pop_front();
        }
        const net::Message reply = connection.expect_reply(
            deadline, "OrderStatus replies (" + std::to_string(waiting.size()) + " outstanding)");
        deadline = Clock::now() + timeout;
        if (const auto* status = std::get_if<net::OrderStatus>(&reply)) {
            const auto it = waiting.find({status->instrument, status->client_order_id});
            if (it != waiting.end()) {
                check.check_status(orders[it->second], *status);
                answered[it->second] = true;
                waiting.erase(it);
            }
        } else if (const auto* rejected = std::get_if<net::Rejected>(&reply);
                   rejected != nullptr &&
                   rejected->request_type == net::MessageType::OrderStatusRequest) {
            const auto it = waiting.find({rejected->instrument, rejected->client_id});
            if (it == waiting.end()) {
                continue;
            }
            if (rejected->reason == net::reject_code(book::RejectReason::Busy)) {
                to_ask.push_back(it->second);
            } else {
                check.fail_order(
                    orders[it->second],
                    "status request rejected: " + std::string(net::to_string(rejected->reason)));
                answered[it->second] = true;
            }
            waiting.erase(it);
        }
    }
    connection.logout(std::chrono::milliseconds(500));
}

}  // namespace

int verify_main(int argc, char** argv, int first) {
    const CliArgs args = CliArgs::parse(argc, argv, first, kOptions);
    const std::string target = args.text_or("connect", "");
    const std::string journal_path = args.text_or("journal", "");
    if (target.empty() || journal_path.empty()) {
        throw CliError("--connect HOST:PORT and --journal FILE are required");
    }
    const std::size_t window = args.unsigned_or("window", kDefaultWindow, 1, 65536);
    const auto timeout = std::chrono::milliseconds(args.unsigned_or("timeout", 10, 1, 3600) * 1000);
    const exchanged::Config profile = load_client_profile(args);
    std::ifstream in(journal_path);
    if (!in) {
        throw std::runtime_error("--journal: cannot read '" + journal_path + "'");
    }

    JournalCheck check;
    std::string line;
    for (std::size_t number = 1; std::getline(in, line); ++number) {
        check.add_line(number, line);
    }
    check.finish_journal();
    const engine::ShardLayout layout = engine::make_shard_layout(profile);
    check.mark_forgettable(
        profile.engine.client_order_id_window,
        [&layout](InstrumentId instrument) { return layout.shard_of(instrument); });
    if (check.duplicates() > 0) {
        std::printf("journal: %" PRIu64
                    " lines repeat an effect another session of the account already journaled "
                    "(counted once)\n",
                    check.duplicates());
    }

    std::map<std::string, AccountRun> accounts;
    for (std::size_t i = 0; i < check.orders().size(); ++i) {
        AccountRun& run = accounts[check.orders()[i].account];
        run.account = check.orders()[i].account;
        run.orders.push_back(i);
    }
    std::vector<bool> answered(check.orders().size(), false);
    int code = kExitOk;
    for (const auto& [name, run] : accounts) {
        std::string secret;
        for (const exchanged::AccountConfig& account : profile.accounts) {
            if (account.name == name) {
                secret = account.secret;
            }
        }
        try {
            if (secret.empty()) {
                throw ClientError(
                    ClientErrorKind::LoginRejected,
                    "account '" + name + "' is not in profile " + profile.source_path);
            }
            verify_account(target, secret, run, check, answered, window, timeout);
        } catch (const ClientError& error) {
            // Orders this account could not check count as failed; the rest still run.
            std::fprintf(stderr, "exchangectl verify: %s\n", error.what());
            for (const std::size_t index : run.orders) {
                if (answered[index]) {
                    continue;
                }
                check.fail_order(check.orders()[index],
                                 std::string("not checked: ") + error.what());
            }
            code = exit_code_for(error);
        }
    }
    for (const std::string& failure : check.failures()) {
        std::printf("%s\n", failure.c_str());
    }
    if (check.forgotten() > 0) {
        std::printf("%" PRIu64
                    " orders not known to the daemon had at least three quarters of"
                    " client_order_id_window (%" PRIu64
                    ") later orders on their shard: the daemon"
                    " may keep no record of finished orders that old, so only store verify checks"
                    " them\n",
                    check.forgotten(), std::uint64_t{profile.engine.client_order_id_window});
    }
    std::printf("%" PRIu64 " passed, %zu failed\n", check.passed(), check.failures().size());
    if (code != kExitOk) {
        return code;
    }
    return check.failures().empty() ? kExitOk : kExitRefused;
}

}  // namespace exchanged::tools
