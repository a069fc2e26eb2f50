// ServiceNotifier against a real AF_UNIX datagram socket: the exact bytes systemd would receive,
// at a path and in the abstract namespace, and the quiet ways it fails.
#include <catch2/catch.hpp>

#include <stdlib.h>

#include <chrono>
#include <string>
#include <vector>

#include "notify_socket.hpp"
#include "ops/service_notifier.hpp"
#include "temp_file.hpp"

using exchanged::ops::ServiceNotifier;
using exchanged::test::NotifySocket;
using exchanged::test::TempDir;

namespace {

constexpr int kReceiveTimeoutMs = 2000;

struct Errors {
    std::vector<std::string> seen;
    ServiceNotifier::ErrorReport report() {
        return [this](std::string_view error) { seen.emplace_back(error); };
    }
};

}  // namespace

TEST_CASE("ServiceNotifier sends READY, STATUS and STOPPING datagrams to a socket path",
          "[ops][notify]") {
    const TempDir dir;
    NotifySocket manager(dir.path() / "notify.sock");
    Errors errors;
    ServiceNotifier notifier(manager.address(), errors.report());
    REQUIRE(notifier.enabled());

    CHECK(notifier.status("recovering: 1000 records replayed"));
    CHECK(manager.receive(kReceiveTimeoutMs) == "STATUS=recovering: 1000 records replayed");
    CHECK(notifier.progress("recover: 2000 records replayed", std::chrono::seconds(60)));
    CHECK(manager.receive(kReceiveTimeoutMs) ==
          "STATUS=recover: 2000 records replayed\nEXTEND_TIMEOUT_USEC=60000000");
    CHECK(notifier.ready("serving on 127.0.0.1:9100"));
    CHECK(manager.receive(kReceiveTimeoutMs) == "READY=1\nSTATUS=serving on 127.0.0.1:9100");
    CHECK(notifier.stopping("SIGTERM received"));
    CHECK(manager.receive(kReceiveTimeoutMs) == "STOPPING=1\nSTATUS=SIGTERM received");
    CHECK(errors.seen.empty());
}

TEST_CASE("ServiceNotifier reaches an abstract-namespace socket named with '@'", "[ops][notify]") {
    NotifySocket manager;
    REQUIRE(manager.address().front() == '@');
    Errors errors;
    ServiceNotifier notifier(manager.address(), errors.report());
    CHECK(notifier.ready("up"));
    CHECK(manager.receive(kReceiveTimeoutMs) == "READY=1\nSTATUS=up");
    CHECK(errors.seen.empty());
}

TEST_CASE("ServiceNotifier keeps a status to one line", "[ops][notify]") {
    NotifySocket manager;
    ServiceNotifier notifier(manager.address(), nullptr);
    CHECK(notifier.status("two\nlines\r"));
    CHECK(manager.receive(kReceiveTimeoutMs) == "STATUS=two lines ");
}

TEST_CASE("ServiceNotifier reads NOTIFY_SOCKET and does nothing without it", "[ops][notify]") {
    NotifySocket manager;
    REQUIRE(::setenv("NOTIFY_SOCKET", manager.address().c_str(), 1) == 0);
    ServiceNotifier from_env = ServiceNotifier::from_environment(nullptr);
    CHECK(from_env.enabled());
    CHECK(from_env.ready("x"));
    CHECK(manager.receive(kReceiveTimeoutMs) == "READY=1\nSTATUS=x");

    REQUIRE(::unsetenv("NOTIFY_SOCKET") == 0);
    Errors errors;
    ServiceNotifier disabled = ServiceNotifier::from_environment(errors.report());
    CHECK_FALSE(disabled.enabled());
    CHECK_FALSE(disabled.ready("x"));
    CHECK(errors.seen.empty());
}

TEST_CASE("ServiceNotifier reports the first failure to send, once, and carries on",
          "[ops][notify]") {
    const TempDir dir;
    Errors errors;
    ServiceNotifier notifier((dir.path() / "nobody-listens.sock").string(), errors.report());
    CHECK_FALSE(notifier.ready("x"));
    CHECK_FALSE(notifier.stopping("y"));
    REQUIRE(errors.seen.size() == 1);
    CHECK(errors.seen[0].find("nobody-listens.sock") != std::string::npos);

    Errors unsupported;
    ServiceNotifier vsock("vsock:2:1234", unsupported.report());
    CHECK_FALSE(vsock.ready("x"));
    REQUIRE(unsupported.seen.size() == 1);
    CHECK(unsupported.seen[0].find("not a unix socket path") != std::string::npos);
}
