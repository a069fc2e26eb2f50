// exchangectl load's counting against a scripted exchange on loopback that answers each order by
// its client order id: some accepted, some rejected by the "book", some refused busy or
// unavailable. Throughput and the ack latency must count the accepted orders only; the refusals
// have their own count, reasons and latency, and the rejections theirs.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <cstddef>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "book/event.hpp"
#include "net/protocol.hpp"
#include "tools/client/load_generator.hpp"
#include "tools/client/load_report.hpp"

using namespace exchanged;
using namespace exchanged::tools;

namespace {

constexpr std::size_t kMaxFrameBytes = 4096;

// The answer to a NewOrder: Accepted, or Rejected with this code.
using Answer = std::function<net::Message(const net::NewOrder&)>;

// Listens on a loopback port for `sessions` connections and serves each in a thread: Login is
// accepted, every NewOrder gets answer(order), Logout gets Goodbye and the close.
class ScriptedExchange {
  public:
    ScriptedExchange(int sessions, Answer answer) : answer_(std::move(answer)) {
        listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
        REQUIRE(listener_ >= 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
        socklen_t length = sizeof(addr);
        REQUIRE(::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &length) == 0);
        port_ = ntohs(addr.sin_port);
        REQUIRE(::listen(listener_, sessions) == 0);
        for (int i = 0; i < sessions; ++i) {
            threads_.emplace_back([this] {
                const int fd = ::accept(listener_, nullptr, nullptr);
                if (fd >= 0) {
                    serve(fd);
                    ::close(fd);
                }
            });
        }
    }
    ~ScriptedExchange() {
        for (std::thread& thread : threads_) {
            thread.join();
        }
        ::close(listener_);
    }
    std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  private:
    static void send_message(int fd, const net::Message& message) {
        std::vector<std::byte> frame(net::encoded_size(message));
        net::encode(message, frame);
        ::send(fd, frame.data(), frame.size(), MSG_NOSIGNAL);
    }

    void serve(int fd) const {
        std::vector<std::byte> received;
        std::array<std::byte, 65536> buffer{};
        for (;;) {
            const ssize_t n = ::recv(fd, buffer.data(), buffer.size(), 0);
            if (n <= 0) {
                return;
            }
            received.insert(received.end(), buffer.begin(), buffer.begin() + n);
            std::size_t at = 0;
            for (;;) {
                const net::DecodeResult frame = net::decode(std::span(received).subspan(at),
                                                            kMaxFrameBytes, net::Sender::Client);
                if (frame.status == net::DecodeStatus::Malformed) {
                    return;  // the client sees the close; Catch's checks stay on its thread
                }
                if (frame.status == net::DecodeStatus::NeedMore) {
                    break;
                }
                at += frame.consumed;
                if (std::holds_alternative<net::Login>(frame.message)) {
                    net::LoginAccepted accepted;
                    accepted.account_id = 1;
                    accepted.heartbeat_interval_ms = 1000;
                    accepted.max_frame_bytes = kMaxFrameBytes;
                    send_message(fd, accepted);
                } else if (const auto* order = std::get_if<net::NewOrder>(&frame.message)) {
                    send_message(fd, answer_(*order));
                } else if (std::holds_alternative<net::Logout>(frame.message)) {
                    send_message(fd, net::Goodbye{});
                    return;
                }
            }
            received.erase(received.begin(), received.begin() + static_cast<std::ptrdiff_t>(at));
        }
    }

    Answer answer_;
    int listener_ = -1;
    std::uint16_t port_ = 0;
    std::vector<std::thread> threads_;
};

net::Message accept(const net::NewOrder& order) {
    net::Accepted a;
    a.side = order.side;
    a.instrument = order.instrument;
    a.client_order_id = order.client_order_id;
    a.order_id = order.client_order_id;
    a.price = order.price;
    a.quantity = order.quantity;
    return a;
}

net::Message reject(const net::NewOrder& order, book::RejectReason reason) {
    net::Rejected r;
    r.reason = net::reject_code(reason);
    r.instrument = order.instrument;
    r.client_id = order.client_order_id;
    r.request_type = net::MessageType::NewOrder;
    return r;
}

LoadPlan plan_for(const std::string& target, std::uint64_t orders) {
    LoadPlan plan;
    plan.target = target;
    plan.orders = orders;
    plan.connections = 2;
    plan.window = 64;
    plan.id_base = 1000;  // connection c sends 1000 + c + 2k: every residue mod 4 on each
    plan.reply_timeout = std::chrono::milliseconds(5000);
    book::InstrumentSpec amzn;
    amzn.id = 1;
    amzn.symbol = "AMZN";
    amzn.tick_size = 100;
    amzn.min_price = 1'000'000;
    amzn.max_price = 4'000'000;
    amzn.max_order_quantity = 1'000'000;
    plan.instruments = {amzn};
    plan.accounts = {{"alice", "alice-secret"}, {"bob", "bob-secret"}};
    return plan;
}

// The number after "key": in the report's JSON line.
double json_value(const std::string& json, const std::string& key) {
    const std::size_t at = json.find("\"" + key + "\":");
    INFO(key << " in " << json);
    REQUIRE(at != std::string::npos);
    return std::stod(json.substr(at + key.size() + 3));
}

}  // namespace

TEST_CASE("load: refusals are counted apart from accepted orders and their latency",
          "[tools][client]") {
    // Of every four orders: one accepted, one rejected by the book, two refused.
    ScriptedExchange exchange(2, [](const net::NewOrder& order) {
        switch (order.client_order_id % 4) {
            case 0:
                return reject(order, book::RejectReason::Busy);
            case 1:
                return reject(order, book::RejectReason::Unavailable);
            case 2:
                return reject(order, book::RejectReason::PriceOutsideBand);
            default:
                return accept(order);
        }
    });
    const LoadPlan plan = plan_for(exchange.address(), 400);
    const LoadTotals totals = run_load(plan, nullptr);
    INFO(load_report_text(plan, totals));
    REQUIRE_FALSE(totals.connection_lost);
    REQUIRE_FALSE(totals.timed_out);
    CHECK(totals.sent == 400);
    CHECK(totals.accepted == 100);
    CHECK(totals.rejected == 100);
    CHECK(totals.rejected_by_reason ==
          std::map<std::string, std::uint64_t>{{"price_outside_band", 100}});
    CHECK(totals.refused == 200);
    CHECK(totals.refused_by_reason ==
          std::map<std::string, std::uint64_t>{{"busy", 100}, {"unavailable", 100}});
    // The ack latency is over the accepted orders only; the refusals have their own.
    CHECK(totals.latency.count() == 100);
    CHECK(totals.refused_latency.count() == 200);

    const std::string json = load_report_json(plan, totals);
    INFO(json);
    CHECK(json_value(json, "accepted") == 100);
    CHECK(json_value(json, "rejected") == 100);
    CHECK(json_value(json, "refused") == 200);
    CHECK(json.find("\"refused_by_reason\":{\"busy\":100,\"unavailable\":100}") !=
          std::string::npos);
    CHECK(json.find("\"rejected_by_reason\":{\"price_outside_band\":100}") != std::string::npos);
    REQUIRE(totals.elapsed_s > 0);
    // orders_per_sec is accepted over elapsed, not every first reply over elapsed.
    CHECK(std::abs(json_value(json, "orders_per_sec") - 100 / totals.elapsed_s) <= 0.5);
    CHECK(std::abs(json_value(json, "refused_per_sec") - 200 / totals.elapsed_s) <= 0.5);
    CHECK(json_value(json, "p99_us") >= json_value(json, "p50_us"));
    CHECK(json_value(json, "refused_p99_us") >= json_value(json, "refused_p50_us"));
    CHECK(json_value(json, "refused_p50_us") > 0);
    for (const char* key : {"mean_us", "p999_us", "max_us", "elapsed_s", "fills", "cancelled",
                            "window", "seed", "id_base", "connection_lost", "timed_out"}) {
        CHECK(json.find("\"" + std::string(key) + "\":") != std::string::npos);
    }
    CHECK(json.back() == '\n');
    CHECK(json.find('\n') == json.size() - 1);

    const std::string text = load_report_text(plan, totals);
    CHECK(text.find("accepted 100, rejected 100, refused 200") != std::string::npos);
    CHECK(text.find("refused busy: 100") != std::string::npos);
    CHECK(text.find("accepted orders/s") != std::string::npos);
}

TEST_CASE("load: which reject codes are refusals", "[tools][client]") {
    CHECK(is_refusal(net::reject_code(book::RejectReason::Busy)));
    CHECK(is_refusal(net::reject_code(book::RejectReason::Unavailable)));
    CHECK(is_refusal(net::RejectCode::Throttled));
    CHECK(is_refusal(net::RejectCode::NotLoggedIn));
    CHECK(is_refusal(static_cast<net::RejectCode>(250)));  // a gateway code added later
    CHECK_FALSE(is_refusal(net::reject_code(book::RejectReason::PriceOutsideBand)));
    CHECK_FALSE(is_refusal(net::reject_code(book::RejectReason::DuplicateClientOrderId)));
    CHECK_FALSE(is_refusal(net::reject_code(book::RejectReason::BookFull)));
}
