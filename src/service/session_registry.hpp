// Which sessions are logged in as which account, so that a resting order's fills reach every live
// session of its owner. Written on login and logout (io threads), read by the shard threads for
// each maker fill; fixed slots of atomics keep that read free of locks and allocation.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "common/types.hpp"
#include "net/gateway.hpp"

namespace exchanged::service {

class SessionRegistry {
  public:
    // Sessions of one account that can receive maker fills at once. A login beyond it still trades
    // and gets its own replies, but not the fills of orders resting for its account.
    static constexpr std::size_t kSlotsPerAccount = 32;

    explicit SessionRegistry(std::uint32_t max_accounts);

    // False when the account id is out of range or its slots are all taken.
    bool add(AccountId account, net::SessionId session);
    void remove(AccountId account, net::SessionId session);

    // Calls visit(session) for every session live for `account` at the time of the read.
    template <typename Visit>
    void for_each(AccountId account, Visit&& visit) const {
        if (account >= max_accounts_) {
            return;
        }
        const std::atomic<net::SessionId>* slots = &slots_[account * kSlotsPerAccount];
        for (std::size_t i = 0; i < kSlotsPerAccount; ++i) {
            const net::SessionId session = slots[i].load(std::memory_order_acquire);
            if (session != 0) {
                visit(session);
            }
        }
    }

  private:
    std::uint32_t max_accounts_;
    std::unique_ptr<std::atomic<net::SessionId>[]> slots_;  // 0: free (session ids start at 1)
};

}  // namespace exchanged::service
