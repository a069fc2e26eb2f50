// The service manager's end of sd_notify for tests: an AF_UNIX datagram socket bound to a path in a
// directory, or to a name in the abstract namespace, that receives what the daemon sends.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace exchanged::test {

class NotifySocket {
  public:
    // Bound to `path` on the file system.
    explicit NotifySocket(const std::filesystem::path& path);
    // Bound in the abstract namespace to a name unique to this process and object.
    NotifySocket();
    ~NotifySocket();
    NotifySocket(const NotifySocket&) = delete;
    NotifySocket& operator=(const NotifySocket&) = delete;

    // What NOTIFY_SOCKET must say: the path, or '@' and the abstract name.
    const std::string& address() const { return address_; }
    // The next datagram, exactly as sent; nothing after `timeout_ms`.
    std::optional<std::string> receive(int timeout_ms);

  private:
    void bind_to(const std::string& sun_path_bytes);

    int fd_ = -1;
    std::string address_;
};

}  // namespace exchanged::test
