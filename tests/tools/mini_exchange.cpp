#include "mini_exchange.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <span>

#include "engine/startup.hpp"
#include "minimal_config.hpp"
#include "service/order_service.hpp"
#include "store/open_store.hpp"
#include "tools/client/ack_journal.hpp"

namespace exchanged::test {
namespace {

std::string account_name(const exchanged::Config& profile, AccountId id) {
    for (const exchanged::AccountConfig& account : profile.accounts) {
        if (account.id == id) {
            return account.name;
        }
    }
    FAIL("no account " << id << " in the profile");
    return {};
}

AccountId account_id(const exchanged::Config& profile, const std::string& name) {
    for (const exchanged::AccountConfig& account : profile.accounts) {
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
      profile_(exchanged::load_config(profile_path_)),
      layout_(engine::make_shard_layout(profile_)) {
    std::filesystem::create_directories(profile_.server.data_dir);
    storage_ = std::make_unique<wal::UringStorage>(profile_.persistence.wal_path.string());
    service::RecoveredBooks books;
    for (engine::ShardId id = 0; id < layout_.shard_count; ++id) {
        books.matchers.push_back(layout_.make_matcher(id));
        books.next_seq.push_back(1);
    }
    service::OrderPathSettings settings = service::order_path_settings(profile_, false);
    settings.feed_store = false;  // the tests write the store themselves (fill_store)
    path_ = std::make_unique<service::OrderPath>(settings, layout_, std::move(books),
                                                 storage_.get(), journal_, shutdown_);
}

MiniExchange::~MiniExchange() {
    close_wal();
}

void MiniExchange::close_wal() {
    path_->wal_writer()->close();
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
    // One session per account, whose id is the account's; a cancel's request id is in its client
    // order id slot, as the gateway logs it.
    journal_.begin(command.account);
    path_->route(service::command_request(command, command.account, command.client_order_id),
                 now_ += 1000,
                 [&](service::ShardStage& stage, std::span<const engine::ShardEvent> events) {
                     for (const engine::ShardEvent& e : events) {
                         REQUIRE(e.lsn != 0);  // logged, not refused as busy
                     }
                     const auto stored = stage.store_events();
                     events_.insert(events_.end(), stored.begin(), stored.end());
                     last_lsn_ = stored.empty() ? last_lsn_ : stored.back().lsn;
                 });
    // The standard profile acks after the WAL: wait for it, then the gates send the replies.
    REQUIRE(path_->wal_writer()->wait_durable(last_lsn_));
    path_->release_all();
    journal_.end();
}

void MiniExchange::Journal::begin(AccountId account) {
    commanding_ = account;
}

void MiniExchange::Journal::end() {
    text += own_;
    text += others_;
    own_.clear();
    others_.clear();
}

void MiniExchange::Journal::add(AccountId account, const net::Message& message) {
    (account == commanding_ ? own_ : others_) +=
        tools::journal_line(account_name(profile_, account), message);
}

void MiniExchange::Journal::to_session(net::SessionId session, const net::Message& message) {
    add(static_cast<AccountId>(session), message);
}

void MiniExchange::Journal::to_account(AccountId account, const net::Message& message) {
    add(account, message);
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
