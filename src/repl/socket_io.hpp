// Blocking TCP for the replication connections (one thread per direction): connect, listen,
// accept, read and write whole buffers. A connection is closed from another thread with
// shutdown_socket(), which wakes a read or accept blocked on it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace exchanged::repl {

// An owned socket descriptor (-1: none).
class Socket {
  public:
    Socket() = default;
    explicit Socket(int fd) : fd_(fd) {}
    ~Socket();
    Socket(Socket&& other) noexcept : fd_(other.release()) {}
    Socket& operator=(Socket&& other) noexcept;
    Socket(const Socket&) = delete;
    Socket& operator=(const Socket&) = delete;

    int fd() const { return fd_; }
    bool valid() const { return fd_ >= 0; }
    int release() {
        const int fd = fd_;
        fd_ = -1;
        return fd;
    }
    // Wakes any thread blocked on it; the descriptor stays open until destruction.
    void shutdown_both() const;

  private:
    int fd_ = -1;
};

// Throws std::runtime_error naming the address and errno.
Socket connect_to(const std::string& host, std::uint16_t port);
// Listens on host:port (SO_REUSEADDR). Throws std::runtime_error naming the address and errno.
Socket listen_on(const std::string& host, std::uint16_t port);
// The accepted connection, or an invalid Socket once the listener was shut down.
Socket accept_one(const Socket& listener);
// false when the peer closed or the connection failed.
bool write_all(const Socket& socket, std::span<const std::byte> bytes);
// Bytes read (0: closed or failed).
std::size_t read_some(const Socket& socket, std::span<std::byte> out);

}  // namespace exchanged::repl
