#include "tools/crash/power_loss_setup.hpp"

#include <string>

#include "wal/wal_types.hpp"

namespace exchanged::tools {
namespace {

// Seeds of neighbouring scenarios must not give neighbouring streams.
std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
    SplitMix64 m(a * 0x9e3779b97f4a7c15ULL ^ (b + 0x632be59bd9b4e019ULL));
    return m.next();
}

}  // namespace

SplitMix64 cycle_random(std::uint64_t seed, std::uint32_t cycle) {
    return SplitMix64(mix(seed, 1 + std::uint64_t{cycle}));
}

PowerLossSetup make_power_loss_setup(std::uint64_t seed) {
    SplitMix64 rng(mix(seed, 0));
    PowerLossSetup setup;
    engine::ShardLayout& layout = setup.layout;
    layout.shard_count = 1 + static_cast<std::uint32_t>(rng.below(3));
    const std::uint64_t instruments = 2 + rng.below(3);
    for (std::uint64_t i = 0; i < instruments; ++i) {
        book::InstrumentSpec spec;
        spec.id = static_cast<InstrumentId>(1 + i * 2);  // sparse, as configurations may be
        spec.symbol = "I" + std::to_string(spec.id);
        const Price ticks[] = {1, 5, 25};
        spec.tick_size = ticks[rng.below(3)];
        spec.lot_size = rng.percent(70) ? 1 : 10;
        // 200 levels a side: dense books, and the whole band costs little memory.
        spec.min_price = spec.tick_size * 1000;
        spec.max_price = spec.min_price + spec.tick_size * 199;
        spec.max_order_quantity = spec.lot_size * 60;
        layout.instruments.push_back(spec);
    }
    // Small pools, so that building matchers for every recovery and reference replay stays cheap
    // (the flow keeps about 160 orders resting). The window still covers far more than the step
    // a crash cuts, whose orders come back as resends and must meet their first copies.
    layout.limits.max_orders = 512;
    layout.limits.max_accounts = 8;
    layout.limits.client_order_id_window = 512;
    layout.limits.client_index_seed = mix(seed, 0xc11e47);

    const std::uint64_t accounts = 3 + rng.below(3);
    for (std::uint64_t i = 0; i < accounts; ++i) {
        FlowAccount account;
        account.id = static_cast<AccountId>(1 + i);
        account.self_trade = static_cast<book::SelfTradePrevention>(rng.below(3));
        setup.accounts.push_back(account);
        setup.profile.accounts.push_back(exchanged::AccountConfig{
            "acct" + std::to_string(account.id), account.id, "", account.self_trade});
    }

    // The standard profile (config/standard.ini): acknowledgements after the WAL's fsync,
    // critical orders too (sync_for_critical = false), checkpoints on.
    setup.profile.profile = "standard";
    setup.profile.persistence.mode = exchanged::PersistenceMode::WalBatch;
    setup.profile.persistence.ack_after = exchanged::AckPoint::Wal;
    setup.profile.safety.critical_order_threshold = 100'000;
    setup.profile.safety.sync_for_critical = false;
    setup.profile.instruments = layout.instruments;
    setup.profile.server.shards = layout.shard_count;
    setup.checkpoint_every = 1 + rng.below(50);

    // Segments of 16 to 48 KiB (a rotation every 150 to 500 records) and batch buffers of 8 to
    // 64 KiB (a big step is committed in several batches).
    wal::WalOptions& w = setup.wal;
    w.segment_bytes = wal::kMinSegmentBytes * (1 + rng.below(3));
    w.max_payload_bytes = 128;
    w.queue_capacity = 2048;  // a step's records, at most about 1000, wait here until it ends
    const std::uint64_t batch_kib[] = {8, 16, 64};
    w.batch_bytes_max = batch_kib[rng.below(3)] << 10;
    // A step is committed as soon as the writer has taken it (SteppedStorage lets it take the
    // whole step at once), never on a timer.
    w.commit_when_idle = true;
    w.batch_size = 100;
    w.batch_timeout_ms = 1;
    setup.disk_seed = mix(seed, 0xd15c);
    return setup;
}

}  // namespace exchanged::tools
