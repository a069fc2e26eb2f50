// exchangectl order | cancel | status: one request from a person at a terminal. Each logs in,
// sends its request, prints one line per reply until the request's final reply, and exits 0 only
// when the daemon did what was asked. After an Accepted, `order` asks for the order's status: the
// daemon answers it behind every event of the order, so the fills that matched at once are all
// printed before the command ends, without guessing how long to wait for them.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "common/cli_args.hpp"
#include "tools/cli/exit_codes.hpp"
#include "tools/cli/subcommands.hpp"
#include "tools/client/client_connection.hpp"
#include "tools/client/client_profile.hpp"
#include "tools/client/reply_text.hpp"

namespace exchanged::tools {
namespace {

constexpr CliOption kOrderOptions[] = {
    {"connect", true},    {"account", true}, {"secret", true},          {"config", true},
    {"instrument", true}, {"side", true},    {"price", true},           {"qty", true},
    {"type", true},       {"tif", true},     {"client-order-id", true}, {"timeout", true},
};
constexpr CliOption kCancelOptions[] = {
    {"connect", true},    {"account", true},  {"secret", true},     {"config", true},
    {"instrument", true}, {"order-id", true}, {"request-id", true}, {"timeout", true},
};
constexpr CliOption kStatusOptions[] = {
    {"connect", true},    {"account", true},         {"secret", true},  {"config", true},
    {"instrument", true}, {"client-order-id", true}, {"timeout", true},
};

std::string required(const CliArgs& args, std::string_view name) {
    if (const auto value = args.text(name)) {
        return *value;
    }
    throw CliError("--" + std::string(name) + " is required");
}

// What every request command shares: the profile, a logged-in session and the reply deadline.
struct Session {
    exchanged::Config profile;
    std::string target;
    std::string account;
    std::string secret;
    std::chrono::milliseconds timeout{5000};
    std::unique_ptr<ClientConnection> connection;

    void connect() {
        connection = std::make_unique<ClientConnection>(target, timeout);
        try {
            connection->login(account, secret, timeout);
        } catch (const ClientError& error) {
            // A replication follower names the leader: log in there instead, once.
            const std::string leader = refusal_leader(error);
            if (leader.empty() || leader == target) {
                throw;
            }
            std::fprintf(stderr, "exchangectl: %s: following it to %s\n", error.what(),
                         leader.c_str());
            target = leader;
            connection = std::make_unique<ClientConnection>(target, timeout);
            connection->login(account, secret, timeout);
        }
    }
};

// Reads the shared flags and the profile, so a usage mistake is reported before any network use.
Session prepare_session(const CliArgs& args) {
    Session session;
    session.target = required(args, "connect");
    session.account = required(args, "account");
    session.timeout = std::chrono::milliseconds(args.unsigned_or("timeout", 5, 1, 3600) * 1000);
    session.profile = load_client_profile(args);
    session.secret = account_secret(session.profile, args, session.account);
    return session;
}

void print_reply(const Session& session, const net::Message& message) {
    std::printf("%s\n", reply_text(session.profile, message).c_str());
    std::fflush(stdout);
}

// Runs `body` and turns client errors into their exit codes, printed as one line on stderr.
template <typename Body>
int run_request(std::string_view command, Body&& body) {
    try {
        return body();
    } catch (const ClientError& error) {
        std::fprintf(stderr, "exchangectl %.*s: %s\n", static_cast<int>(command.size()),
                     command.data(), error.what());
        return exit_code_for(error);
    }
}

book::OrderType parse_type(std::string_view text) {
    if (text == "limit") {
        return book::OrderType::Limit;
    }
    if (text == "market") {
        return book::OrderType::Market;
    }
    throw CliError("--type: '" + std::string(text) + "' is not limit or market");
}

book::TimeInForce parse_tif(std::string_view text) {
    if (text == "gtc") {
        return book::TimeInForce::GoodTillCancel;
    }
    if (text == "ioc") {
        return book::TimeInForce::ImmediateOrCancel;
    }
    if (text == "fok") {
        return book::TimeInForce::FillOrKill;
    }
    throw CliError("--tif: '" + std::string(text) + "' is not gtc, ioc or fok");
}

}  // namespace

int order_main(int argc, char** argv, int first) {
    const CliArgs args = CliArgs::parse(argc, argv, first, kOrderOptions);
    net::NewOrder order;
    order.order_type = parse_type(args.text_or("type", "limit"));
    // A market order cannot rest, so it defaults to IOC (GTC would be rejected).
    order.time_in_force =
        parse_tif(args.text_or("tif", order.order_type == book::OrderType::Market ? "ioc" : "gtc"));
    order.side = parse_side(required(args, "side"));
    order.quantity = static_cast<Quantity>(args.unsigned_or("qty", 0, 1, INT64_MAX));
    if (!args.has("qty")) {
        throw CliError("--qty is required");
    }
    if (order.order_type == book::OrderType::Limit) {
        order.price = parse_price(required(args, "price"), "--price");
    } else if (args.has("price")) {
        order.price = parse_price(*args.text("price"), "--price");
    }
    order.client_order_id = args.unsigned_or("client-order-id", clock_id_base());
    Session session = prepare_session(args);
    order.instrument = find_instrument(session.profile, required(args, "instrument")).id;
    return run_request("order", [&] {
        session.connect();
        ClientConnection& connection = *session.connection;
        connection.queue(order);
        const auto deadline = Clock::now() + session.timeout;
        bool accepted = false;
        for (;;) {
            const net::Message reply = connection.expect_reply(
                deadline, accepted ? "the order's status" : "the answer to the order");
            print_reply(session, reply);
            if (const auto* r = std::get_if<net::Rejected>(&reply);
                r != nullptr && r->client_id == order.client_order_id) {
                return kExitRefused;
            }
            if (const auto* a = std::get_if<net::Accepted>(&reply);
                a != nullptr && a->client_order_id == order.client_order_id && !accepted) {
                accepted = true;
                connection.queue(net::OrderStatusRequest{order.instrument, order.client_order_id});
            }
            if (const auto* s = std::get_if<net::OrderStatus>(&reply);
                s != nullptr && s->client_order_id == order.client_order_id) {
                connection.logout(std::chrono::milliseconds(500));
                return kExitOk;
            }
        }
    });
}

int cancel_main(int argc, char** argv, int first) {
    const CliArgs args = CliArgs::parse(argc, argv, first, kCancelOptions);
    net::Cancel cancel;
    cancel.order_id = args.unsigned_or("order-id", 0, 1);
    if (!args.has("order-id")) {
        throw CliError("--order-id is required");
    }
    cancel.client_request_id = args.unsigned_or("request-id", clock_id_base());
    Session session = prepare_session(args);
    cancel.instrument = find_instrument(session.profile, required(args, "instrument")).id;
    return run_request("cancel", [&] {
        session.connect();
        ClientConnection& connection = *session.connection;
        connection.queue(cancel);
        const auto deadline = Clock::now() + session.timeout;
        for (;;) {
            const net::Message reply =
                connection.expect_reply(deadline, "the answer to the cancel");
            print_reply(session, reply);
            if (const auto* r = std::get_if<net::Rejected>(&reply);
                r != nullptr && r->client_id == cancel.client_request_id) {
                return kExitRefused;
            }
            if (const auto* c = std::get_if<net::Cancelled>(&reply);
                c != nullptr && c->client_request_id == cancel.client_request_id) {
                connection.logout(std::chrono::milliseconds(500));
                return kExitOk;
            }
        }
    });
}

int status_main(int argc, char** argv, int first) {
    const CliArgs args = CliArgs::parse(argc, argv, first, kStatusOptions);
    net::OrderStatusRequest request;
    request.client_order_id = args.unsigned_or("client-order-id", 0);
    if (!args.has("client-order-id")) {
        throw CliError("--client-order-id is required");
    }
    Session session = prepare_session(args);
    request.instrument = find_instrument(session.profile, required(args, "instrument")).id;
    return run_request("status", [&] {
        session.connect();
        ClientConnection& connection = *session.connection;
        connection.queue(request);
        const auto deadline = Clock::now() + session.timeout;
        for (;;) {
            const net::Message reply = connection.expect_reply(deadline, "the order's status");
            print_reply(session, reply);
            if (const auto* r = std::get_if<net::Rejected>(&reply);
                r != nullptr && r->client_id == request.client_order_id) {
                return kExitRefused;
            }
            if (const auto* s = std::get_if<net::OrderStatus>(&reply);
                s != nullptr && s->client_order_id == request.client_order_id) {
                connection.logout(std::chrono::milliseconds(500));
                return s->state == net::OrderState::NotFound ? kExitRefused : kExitOk;
            }
        }
    });
}

}  // namespace exchanged::tools
