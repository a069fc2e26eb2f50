#include "service/session_registry.hpp"

namespace exchanged::service {

SessionRegistry::SessionRegistry(std::uint32_t max_accounts)
    : max_accounts_(max_accounts),
      slots_(std::make_unique<std::atomic<net::SessionId>[]>(std::size_t{max_accounts} *
                                                             kSlotsPerAccount)) {
    for (std::size_t i = 0; i < std::size_t{max_accounts} * kSlotsPerAccount; ++i) {
        slots_[i].store(0, std::memory_order_relaxed);
    }
}

bool SessionRegistry::add(AccountId account, net::SessionId session) {
    if (account >= max_accounts_ || session == 0) {
        return false;
    }
    std::atomic<net::SessionId>* slots = &slots_[account * kSlotsPerAccount];
    for (std::size_t i = 0; i < kSlotsPerAccount; ++i) {
        net::SessionId expected = 0;
        if (slots[i].compare_exchange_strong(expected, session, std::memory_order_acq_rel)) {
            return true;
        }
    }
    return false;
}

void SessionRegistry::remove(AccountId account, net::SessionId session) {
    if (account >= max_accounts_) {
        return;
    }
    std::atomic<net::SessionId>* slots = &slots_[account * kSlotsPerAccount];
    for (std::size_t i = 0; i < kSlotsPerAccount; ++i) {
        net::SessionId expected = session;
        if (slots[i].compare_exchange_strong(expected, 0, std::memory_order_acq_rel)) {
            return;
        }
    }
}

}  // namespace exchanged::service
