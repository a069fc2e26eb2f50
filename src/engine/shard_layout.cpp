#include "engine/shard_layout.hpp"

#include <stdexcept>
#include <string>

#include "config/config.hpp"

namespace exchanged::engine {

ShardId shard_of(InstrumentId instrument, std::span<const book::InstrumentSpec> instruments,
                 std::uint32_t shard_count) {
    // A linear scan: configurations hold a handful of instruments, and the scan needs no table
    // that could fall out of step with the list.
    for (std::size_t i = 0; i < instruments.size(); ++i) {
        if (instruments[i].id == instrument) {
            return shard_count == 0 ? 0 : static_cast<ShardId>(i % shard_count);
        }
    }
    return 0;
}

std::vector<book::InstrumentSpec> ShardLayout::instruments_of(ShardId shard) const {
    std::vector<book::InstrumentSpec> owned;
    for (const book::InstrumentSpec& spec : instruments) {
        if (shard_of(spec.id) == shard) {
            owned.push_back(spec);
        }
    }
    return owned;
}

book::Matcher ShardLayout::make_matcher(ShardId shard) const {
    if (shard >= shard_count) {
        throw std::invalid_argument("shard " + std::to_string(shard) + " is not below the " +
                                    std::to_string(shard_count) + " configured");
    }
    const std::vector<book::InstrumentSpec> owned = instruments_of(shard);
    return book::Matcher(owned, limits);
}

ShardLayout make_shard_layout(const exchanged::Config& config) {
    ShardLayout layout;
    layout.shard_count = config.server.shards;
    layout.instruments = config.instruments;
    layout.limits.max_orders = config.engine.max_orders;
    layout.limits.max_accounts = config.engine.max_accounts;
    layout.limits.client_order_id_window = config.engine.client_order_id_window;
    return layout;
}

}  // namespace exchanged::engine
