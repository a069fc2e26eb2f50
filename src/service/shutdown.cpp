#include "service/shutdown.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace exchanged::service {

Shutdown::Shutdown() : wake_fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
    if (wake_fd_ < 0) {
        throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
    }
}

Shutdown::~Shutdown() {
    ::close(wake_fd_);
}

void Shutdown::fail(StopCause cause, const std::string& reason) {
    {
        std::lock_guard lock(mutex_);
        if (reason_.empty()) {
            reason_ = reason;
        }
    }
    causes_.fetch_or(static_cast<unsigned>(cause), std::memory_order_acq_rel);
    const std::uint64_t one = 1;
    // A full counter (never, at one write per failure) or EAGAIN still leaves the fd readable.
    [[maybe_unused]] const ssize_t written = ::write(wake_fd_, &one, sizeof one);
}

std::string Shutdown::reason() const {
    std::lock_guard lock(mutex_);
    return reason_;
}

}  // namespace exchanged::service
