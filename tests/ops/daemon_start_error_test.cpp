// A start that fails once the gateway listens (the admin address already taken) must still end
// the process with exit 1 and the reason, not leave it hanging with its gateway open: the io
// threads it had started used to wait for a gateway nobody would stop.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "daemon_process.hpp"
#include "temp_file.hpp"

using exchanged::test::DaemonProcess;
using exchanged::test::TempDir;

namespace {

// A socket listening on a loopback port of its own, closed with the object.
class TakenPort {
  public:
    TakenPort() : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
        REQUIRE(fd_ >= 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0);
        REQUIRE(::listen(fd_, 1) == 0);
        socklen_t length = sizeof(addr);
        REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &length) == 0);
        port_ = ntohs(addr.sin_port);
    }
    ~TakenPort() { ::close(fd_); }
    TakenPort(const TakenPort&) = delete;
    TakenPort& operator=(const TakenPort&) = delete;
    std::uint16_t port() const { return port_; }

  private:
    int fd_;
    std::uint16_t port_ = 0;
};

}  // namespace

TEST_CASE("exchanged exits 1 naming the admin address when it is taken", "[ops][daemon]") {
    const TempDir dir;
    const TakenPort admin;
    const std::string admin_address = "127.0.0.1:" + std::to_string(admin.port());
    const std::string listen = "127.0.0.1:" + std::to_string(exchanged::test::free_port());
    DaemonProcess daemon(
        {"--config", std::string(EXCHANGED_SOURCE_DIR) + "/config/standard.ini", "--data-dir",
         (dir.path() / "data").string(), "--listen", listen, "--admin-listen", admin_address},
        dir.path() / "output.txt");
    REQUIRE(daemon.await("admin: cannot listen on " + admin_address));
    // A sanitizer build stops its threads slowly; a hang never ends.
    const std::optional<int> code = daemon.wait_for(std::chrono::seconds(30));
    INFO(daemon.output());
    REQUIRE(code.has_value());
    CHECK(*code == 1);
}
