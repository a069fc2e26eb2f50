#include "mini_exchange.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <variant>

#include "engine/service/release_gate.hpp"
#include "engine/startup.hpp"
#include "minimal_config.hpp"
#include "store/open_store.hpp"
#include "tools/ack_journal.hpp"

namespace exchanged::test {
namespace {

std::string account_name(const engine::Config& profile, AccountId id) {
    for (const engine::AccountConfig& account : profile.accounts) {
        if (account.id == id) {
            return account.name;
        }
    }
    FAIL("no account " << id << " in the profile");
    return {};
}

AccountId account_id(const engine::Config& profile, const std::string& name) {
    for (const engine::AccountConfig& account : profile.accounts) {
        if (account.name == name) {
            return account.id;
        }
    }
    FAIL("no account " << name << " in the profile");
    return 0;
}

}  // namespace

MiniExchange::MiniExchange(const TempDir& dir, std::uint32_t shards)
    : profile_path_(dir.write("mini.ini", "[server]\ndata_dir = " + (dir.path() / "data").string() +
                                              "\nshards = " + std::to_string(shards) +
                                              "\n[persistence]\nwal_segment_bytes = 1048576\n"
                                              "[engine]\nmax_orders = 4096\n"
                                              "client_order_id_window = 4096\n[instruments]\n" +
                                              kAmznInstrument + kAaplInstrument + kAliceAndBob)),
      profile_(engine::load_config(profile_path_)),
      layout_(engine::make_shard_layout(profile_)) {
    std::filesystem::create_directories(profile_.server.data_dir);
    storage_ = std::make_unique<wal::UringStorage>(profile_.persistence.wal_path.string());
    writer_ = std::make_unique<wal::WalWriter>(*storage_, engine::wal_options(profile_, false));
    log_ = std::make_unique<engine::WalCommandLog>(*writer_);
    for (engine::ShardId id = 0; id < layout_.shard_count; ++id) {
        shards_.emplace_back(layout_.make_matcher(id), *log_, engine::ShardOptions{id, 0, 1});
    }
}

MiniExchange::~MiniExchange() {
    close_wal();
}

void MiniExchange::close_wal() {
    writer_->close();
}

OrderId MiniExchange::order(const std::string& account, InstrumentId instrument, Side side,
                            Price price, Quantity quantity) {
    book::Command c;
    c.account = account_id(profile_, account);
    c.instrument = instrument;
    c.side = side;
    c.price = price;
    c.quantity = quantity;
    c.client_order_id = next_client_id_++;
    const std::size_t first = events_.size();
    run(c);
    const book::Event& answer = events_.at(first).event;
    return answer.type == book::EventType::Accepted ? answer.order_id : 0;
}

void MiniExchange::cancel(const std::string& account, InstrumentId instrument, OrderId order_id) {
    book::Command c;
    c.type = book::CommandType::Cancel;
    c.account = account_id(profile_, account);
    c.instrument = instrument;
    c.order_id = order_id;
    c.client_order_id = next_client_id_++;
    run(c);
}

void MiniExchange::run(const book::Command& command) {
    std::vector<engine::ShardEvent> out;
    const engine::ShardId shard = layout_.shard_of(command.instrument);
    shards_[shard].process(command, now_ += 1000, out);
    for (const engine::ShardEvent& e : out) {
        REQUIRE(e.lsn != 0);  // logged, not refused as busy
        last_lsn_ = e.lsn;
        events_.push_back(store::StoreEvent{e.lsn, shard, command.flags, e.event});
        journal_event(e.event);
    }
}

void MiniExchange::journal_event(const book::Event& event) {
    const std::string owner = account_name(profile_, event.account);
    journal_ += tools::journal_line(owner, engine::reply_for(event, engine::ReplyOrigin{}));
    if (event.type == book::EventType::Trade) {
        // The resting side's Fill: the taker's with the maker's order, side and leaves.
        net::Fill maker = std::get<net::Fill>(engine::reply_for(event, engine::ReplyOrigin{}));
        maker.side = opposite(event.side);
        maker.order_id = event.maker_order_id;
        maker.client_order_id = event.maker_client_order_id;
        maker.leaves = event.maker_leaves;
        maker.liquidity = net::Liquidity::Maker;
        journal_ += tools::journal_line(account_name(profile_, event.maker_account), maker);
    }
}

store::StoreBatch MiniExchange::batch(wal::Lsn up_to) const {
    store::StoreBatch batch;
    batch.first_lsn = 1;
    batch.last_lsn = std::min(up_to, last_lsn_);
    for (const store::StoreEvent& e : events_) {
        if (e.lsn <= batch.last_lsn) {
            batch.events.push_back(e);
        }
    }
    return batch;
}

void MiniExchange::fill_store(wal::Lsn up_to) const {
    const std::unique_ptr<store::Store> store = store::open_store(engine::store_settings(profile_));
    if (up_to > 0) {
        store->apply(batch(up_to));
    }
}

Scenario trade_scenario(MiniExchange& x) {
    Scenario s;
    s.a1 = x.order("alice", 1, Side::Sell, 2'000'000, 10);
    s.before_b1 = x.last_lsn();
    s.b1 = x.order("bob", 1, Side::Buy, 2'000'000, 4);
    s.a2 = x.order("alice", 2, Side::Buy, 1'000'000, 5);
    s.before_cancel = x.last_lsn();
    x.cancel("alice", 2, s.a2);
    s.before_b2 = x.last_lsn();
    s.b2 = x.order("bob", 1, Side::Buy, 2'000'100, 6);
    s.a3 = x.order("alice", 1, Side::Sell, 2'000'500, 3);
    s.before_b3 = x.last_lsn();
    s.b3 = x.order("bob", 1, Side::Buy, 1'999'000, 2);
    return s;
}

}  // namespace exchanged::test
