#include "app/shutdown_signal.hpp"

#include <poll.h>
#include <pthread.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <ctime>
#include <stdexcept>
#include <string>

namespace exchanged::app {
namespace {

sigset_t shutdown_set() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return set;
}

std::runtime_error system_error(const char* what, int error) {
    return std::runtime_error(std::string(what) + ": " + std::strerror(error));
}

}  // namespace

void block_shutdown_signals() {
    const sigset_t set = shutdown_set();
    if (const int error = pthread_sigmask(SIG_BLOCK, &set, nullptr); error != 0) {
        throw system_error("pthread_sigmask", error);
    }
}

int take_pending_shutdown() {
    const sigset_t set = shutdown_set();
    const timespec now{0, 0};
    for (;;) {
        const int signal_number = ::sigtimedwait(&set, nullptr, &now);
        if (signal_number > 0) {
            return signal_number;
        }
        if (errno == EAGAIN) {
            return 0;
        }
        if (errno != EINTR) {
            throw system_error("sigtimedwait", errno);
        }
    }
}

int wait_for_shutdown(int wake_fd) {
    return wait_for_shutdown(wake_fd, -1);
}

int wait_for_shutdown(int wake_fd, int other_fd) {
    const sigset_t set = shutdown_set();
    const int signal_fd = ::signalfd(-1, &set, SFD_CLOEXEC);
    if (signal_fd < 0) {
        throw system_error("signalfd", errno);
    }
    // poll ignores a negative fd.
    pollfd fds[3] = {{signal_fd, POLLIN, 0}, {wake_fd, POLLIN, 0}, {other_fd, POLLIN, 0}};
    for (;;) {
        if (::poll(fds, 3, -1) < 0) {
            if (errno == EINTR) {
                continue;
            }
            const int error = errno;
            ::close(signal_fd);
            throw system_error("poll", error);
        }
        if ((fds[0].revents & POLLIN) != 0) {
            signalfd_siginfo info{};
            const ssize_t got = ::read(signal_fd, &info, sizeof info);
            ::close(signal_fd);
            return got == static_cast<ssize_t>(sizeof info) ? static_cast<int>(info.ssi_signo)
                                                            : SIGTERM;
        }
        if ((fds[1].revents & POLLIN) != 0 || (fds[2].revents & POLLIN) != 0) {
            ::close(signal_fd);
            return 0;
        }
    }
}

}  // namespace exchanged::app
