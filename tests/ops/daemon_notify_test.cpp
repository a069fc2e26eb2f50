// The built daemon started as systemd would start a Type=notify service: NOTIFY_SOCKET names a
// socket the test owns, which must receive READY=1 once the gateway listens and STOPPING=1 when
// SIGTERM arrives.
#include <catch2/catch.hpp>

#include <signal.h>
#include <stdlib.h>

#include <optional>
#include <string>
#include <vector>

#include "daemon_process.hpp"
#include "notify_socket.hpp"
#include "temp_file.hpp"

using exchanged::test::DaemonProcess;
using exchanged::test::NotifySocket;
using exchanged::test::TempDir;

namespace {

// Long enough for a sanitizer build to recover an empty WAL and bind.
constexpr int kReadyTimeoutMs = 30000;

const std::string kProfile = std::string(EXCHANGED_SOURCE_DIR) + "/config/standard.ini";

// NOTIFY_SOCKET for the children spawned while the object lives (DaemonProcess passes environ).
class NotifySocketEnv {
  public:
    explicit NotifySocketEnv(const std::string& address) {
        REQUIRE(::setenv("NOTIFY_SOCKET", address.c_str(), 1) == 0);
    }
    ~NotifySocketEnv() { ::unsetenv("NOTIFY_SOCKET"); }
};

void check_ready_then_stopping(NotifySocket& manager) {
    const TempDir dir;
    const std::string listen = "127.0.0.1:" + std::to_string(exchanged::test::free_port());
    std::optional<DaemonProcess> daemon;
    {
        const NotifySocketEnv env(manager.address());
        const std::string admin = "127.0.0.1:" + std::to_string(exchanged::test::free_port());
        daemon.emplace(std::vector<std::string>{"--config", kProfile, "--data-dir",
                                                (dir.path() / "data").string(), "--listen", listen,
                                                "--admin-listen", admin},
                       dir.path() / "output.txt");
    }
    const std::optional<std::string> ready = manager.receive(kReadyTimeoutMs);
    INFO(daemon->output());
    REQUIRE(ready.has_value());
    CHECK(ready->rfind("READY=1\nSTATUS=ready: profile=standard ", 0) == 0);
    CHECK(ready->find(" listen=" + listen) != std::string::npos);
    CHECK(ready->find('\n', 8) == std::string::npos);  // READY=1 and one STATUS line
    REQUIRE(daemon->await("exchanged: ready:"));

    daemon->signal(SIGTERM);
    const std::optional<std::string> stopping = manager.receive(kReadyTimeoutMs);
    REQUIRE(stopping.has_value());
    CHECK(*stopping == "STOPPING=1\nSTATUS=stopping: SIGTERM received");
    CHECK(daemon->wait() == 0);
    CHECK(daemon->output().find("SIGTERM received; clean exit") != std::string::npos);
}

}  // namespace

TEST_CASE("exchanged notifies READY=1 and STOPPING=1 to a NOTIFY_SOCKET path", "[ops][daemon]") {
    const TempDir sockets;
    NotifySocket manager(sockets.path() / "notify.sock");
    check_ready_then_stopping(manager);
}

TEST_CASE("exchanged notifies an abstract NOTIFY_SOCKET ('@name')", "[ops][daemon]") {
    NotifySocket manager;
    check_ready_then_stopping(manager);
}
