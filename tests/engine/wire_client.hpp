// A blocking test client for the daemon's binary protocol over a plain loopback socket: send a
// message, wait for the next one (heartbeats skipped) with a timeout, and Catch2 assertions on
// what arrives. For tests that start the real `exchanged`.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <catch2/catch.hpp>

#include "daemon_process.hpp"
#include "net/protocol.hpp"
#include "temp_file.hpp"

namespace exchanged::test {

// Long enough for a sanitizer build's fsync, short enough that a hang fails fast.
inline constexpr std::chrono::milliseconds kReceiveTimeout{5000};

class WireClient {
  public:
    explicit WireClient(std::uint16_t port);
    ~WireClient();
    WireClient(const WireClient&) = delete;
    WireClient& operator=(const WireClient&) = delete;

    void send(const net::Message& message);
    // The next message other than a Heartbeat, or nothing on timeout or close.
    std::optional<net::Message> receive(std::chrono::milliseconds timeout = kReceiveTimeout);

    template <typename T>
    T expect() {
        const std::optional<net::Message> message = receive();
        REQUIRE(message.has_value());
        INFO("received " << net::to_string(net::type_of(*message)));
        REQUIRE(std::holds_alternative<T>(*message));
        return std::get<T>(*message);
    }

    void login(std::string_view account, std::string_view secret);

  private:
    int fd_ = -1;
    std::vector<std::byte> buffer_;
};

struct ServingDaemon {
    std::unique_ptr<DaemonProcess> daemon;
    std::uint16_t port = 0;
};

// Starts the built exchanged on `config` with its data under dir/data and a free loopback port,
// its output in dir/output_name, and waits until it is ready.
ServingDaemon serve_daemon(const TempDir& dir, const std::string& config,
                           const std::string& output_name);
// The same with more flags for the daemon (e.g. a mutation check's --test-fault).
ServingDaemon serve_daemon(const TempDir& dir, const std::string& config,
                           const std::string& output_name, const std::vector<std::string>& extra);

}  // namespace exchanged::test
