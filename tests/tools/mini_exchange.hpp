// A small exchange without a daemon, for the tests of the store tools: a profile on disk (AMZN and
// AAPL, alice and bob) and the daemon's own order path (service::OrderPath) on a real WAL under its
// data_dir, driven from the test's thread, and what the daemon makes of that: the events as a
// store batch, and the journal that the clients' sessions would have written from the replies the
// release gates sent (`exchangectl load --journal`).
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "engine/shard_layout.hpp"
#include "service/order_path.hpp"
#include "service/release_gate.hpp"
#include "service/shutdown.hpp"
#include "store/store.hpp"
#include "temp_file.hpp"
#include "wal/uring_storage.hpp"

namespace exchanged::test {

class MiniExchange {
  public:
    // The profile is dir/mini.ini with data under dir/data.
    MiniExchange(const TempDir& dir, std::uint32_t shards = 1);
    ~MiniExchange();

    const exchanged::Config& profile() const { return profile_; }
    const engine::ShardLayout& layout() const { return layout_; }
    const std::string& profile_path() const { return profile_path_; }

    // A GTC limit order; returns its order id (0 when rejected).
    OrderId order(const std::string& account, InstrumentId instrument, Side side, Price price,
                  Quantity quantity);
    void cancel(const std::string& account, InstrumentId instrument, OrderId order_id);
    // Makes the WAL whole on disk; no command may follow.
    void close_wal();

    wal::Lsn last_lsn() const { return last_lsn_; }
    // The events of LSNs 1 .. up_to as one batch.
    store::StoreBatch batch(wal::Lsn up_to = std::numeric_limits<wal::Lsn>::max()) const;
    // Creates the profile's store and applies batch(up_to) to it.
    void fill_store(wal::Lsn up_to = std::numeric_limits<wal::Lsn>::max()) const;
    // One line per acknowledgement the sessions received: per command, the commanding account's
    // replies first, then the other accounts' (maker fills), each in the order they were sent.
    // The gates order replies per account only: a maker's fill may leave before the taker's
    // accept when the WAL becomes durable in between, so the merged order is made canonical here.
    const std::string& journal() const { return journal_.text; }

  private:
    // The sessions' side of the release gates: one session per account, whose id is the account's.
    class Journal final : public service::ReplySink {
      public:
        explicit Journal(const exchanged::Config& profile) : profile_(profile) {}
        void to_session(net::SessionId session, const net::Message& message) override;
        void to_account(AccountId account, const net::Message& message) override;
        // The command of `account` starts / has all its replies sent.
        void begin(AccountId account);
        void end();
        std::string text;

      private:
        void add(AccountId account, const net::Message& message);

        const exchanged::Config& profile_;
        AccountId commanding_ = 0;
        std::string own_;
        std::string others_;
    };

    void run(const book::Command& command);

    std::string profile_path_;
    exchanged::Config profile_;
    engine::ShardLayout layout_;
    std::unique_ptr<wal::UringStorage> storage_;
    Journal journal_{profile_};
    service::Shutdown shutdown_;
    std::unique_ptr<service::OrderPath> path_;
    std::vector<store::StoreEvent> events_;
    wal::Lsn last_lsn_ = 0;
    TimestampNs now_ = 1'700'000'000'000'000'000;
    ClientOrderId next_client_id_ = 100;
};

// What the store tools' tests trade. On AMZN alice sells 10 @ 200.00 (a1); bob buys 4 of it (b1,
// trade 1) and then 6 at up to 200.01 (b2, trade 2 at 200.00), which fills a1 and b2. Alice's AAPL
// buy (a2) is cancelled. Alice's AMZN sell 3 @ 200.05 (a3) and bob's buy 2 @ 199.90 (b3) rest.
// One LSN per command; `before_x` is the last LSN before command x.
struct Scenario {
    OrderId a1 = 0, b1 = 0, a2 = 0, b2 = 0, a3 = 0, b3 = 0;
    wal::Lsn before_b1 = 0, before_cancel = 0, before_b2 = 0, before_b3 = 0;
};
Scenario trade_scenario(MiniExchange& x);

}  // namespace exchanged::test
