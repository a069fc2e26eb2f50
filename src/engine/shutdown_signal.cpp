#include "engine/shutdown_signal.hpp"

#include <pthread.h>

#include <csignal>
#include <cstring>
#include <stdexcept>
#include <string>

namespace exchanged::engine {
namespace {

sigset_t shutdown_set() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return set;
}

}  // namespace

void block_shutdown_signals() {
    const sigset_t set = shutdown_set();
    if (const int error = pthread_sigmask(SIG_BLOCK, &set, nullptr); error != 0) {
        throw std::runtime_error(std::string("pthread_sigmask: ") + std::strerror(error));
    }
}

int wait_for_shutdown_signal() {
    const sigset_t set = shutdown_set();
    int signal_number = 0;
    if (const int error = sigwait(&set, &signal_number); error != 0) {
        throw std::runtime_error(std::string("sigwait: ") + std::strerror(error));
    }
    return signal_number;
}

}  // namespace exchanged::engine
