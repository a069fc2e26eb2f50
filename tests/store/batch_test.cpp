// Exactly-once batches: store_lsn decides what is new, a gap is refused, and a failing batch
// leaves nothing behind, in every backend.
#include <catch2/catch.hpp>

#include "store_backends.hpp"

namespace exchanged::store {
namespace {

using Catch::Matchers::Contains;

book::Event accepted(OrderId id, SequenceNumber seq, Price price) {
    book::Event e;
    e.type = book::EventType::Accepted;
    e.seq = seq;
    e.instrument = 1;
    e.account = 2;
    e.order_id = id;
    e.client_order_id = 100 + id;
    e.price = price;
    e.quantity = 10;
    e.leaves = 10;
    return e;
}

StoreBatch batch_of(StoreLsn first, StoreLsn last, std::vector<StoreEvent> events) {
    return StoreBatch{first, last, std::move(events)};
}

struct Fixture {
    explicit Fixture(test::TestDatabase& db) : owned(db.open_migrated(true)), store(*owned) {}
    std::unique_ptr<Store> owned;
    Store& store;
};

STORE_BACKEND_TEST("store: a batch applied twice changes nothing", "[store]") {
    Fixture f(db);
    const StoreBatch first =
        batch_of(1, 3, {{1, 0, 0, accepted(1, 1, 50)}, {3, 0, 0, accepted(2, 2, 51)}});
    f.store.apply(first);
    CHECK(f.store.store_lsn() == 3);
    f.store.apply(first);  // e.g. recovery replaying what the store already holds
    CHECK(f.store.store_lsn() == 3);
    StoreState state = f.store.load(1, 8);
    CHECK(state.store_lsn == 3);
    CHECK(state.shards[0].snapshot.resting.size() == 2);
    CHECK(state.shards[0].snapshot.next_order_id == 3);
    CHECK(state.shards[0].next_seq == 3);

    // Overlapping: LSNs 2..4, of which only 4 is new.
    f.store.apply(batch_of(2, 4, {{3, 0, 0, accepted(2, 2, 51)}, {4, 0, 0, accepted(3, 3, 52)}}));
    CHECK(f.store.store_lsn() == 4);
    state = f.store.load(1, 8);
    CHECK(state.shards[0].snapshot.resting.size() == 3);
    CHECK(state.shards[0].snapshot.next_order_id == 4);
}

STORE_BACKEND_TEST("store: a batch after a gap is refused", "[store]") {
    Fixture f(db);
    f.store.apply(batch_of(1, 2, {{1, 0, 0, accepted(1, 1, 50)}}));
    CHECK_THROWS_WITH(f.store.apply(batch_of(4, 5, {{4, 0, 0, accepted(2, 2, 51)}})),
                      Contains("batch 4..5") && Contains("gap") && Contains("up to LSN 2"));
    CHECK(f.store.store_lsn() == 2);
    f.store.apply(batch_of(3, 5, {{4, 0, 0, accepted(2, 2, 51)}}));
    CHECK(f.store.store_lsn() == 5);
}

STORE_BACKEND_TEST("store: a malformed batch is refused", "[store]") {
    Fixture f(db);
    CHECK_THROWS_WITH(f.store.apply(batch_of(0, 1, {})), Contains("not a valid LSN range"));
    CHECK_THROWS_WITH(f.store.apply(batch_of(3, 2, {})), Contains("not a valid LSN range"));
    CHECK_THROWS_WITH(f.store.apply(batch_of(1, 2, {{3, 0, 0, accepted(1, 1, 50)}})),
                      Contains("outside the range"));
    CHECK_THROWS_WITH(f.store.apply(batch_of(
                          1, 2, {{2, 0, 0, accepted(1, 1, 50)}, {1, 0, 0, accepted(2, 2, 50)}})),
                      Contains("out of order"));
    CHECK(f.store.store_lsn() == 0);
}

STORE_BACKEND_TEST("store: a batch that fails midway leaves nothing behind", "[store]") {
    Fixture f(db);
    book::Event cancel;
    cancel.type = book::EventType::Cancelled;
    cancel.seq = 2;
    cancel.order_id = 77;
    CHECK_THROWS_WITH(
        f.store.apply(batch_of(1, 2, {{1, 0, 0, accepted(1, 1, 50)}, {2, 0, 0, cancel}})),
        Contains("LSN 2 shard 0") && Contains("order 77") && Contains("does not hold open"));
    CHECK(f.store.store_lsn() == 0);
    CHECK(f.store.load(1, 8).shards[0].snapshot.resting.empty());

    book::Event refused = accepted(1, 0, 50);  // seq 0: refused before logging
    CHECK_THROWS_WITH(f.store.apply(batch_of(1, 1, {{1, 0, 0, refused}})),
                      Contains("without a seq"));
    // The earlier failure is the one reported, as the events are applied in order.
    CHECK_THROWS_WITH(f.store.apply(batch_of(1, 2, {{1, 0, 0, cancel}, {2, 0, 0, refused}})),
                      Contains("LSN 1 shard 0") && Contains("cancel of order 77"));
    book::Event replace;
    replace.type = book::EventType::Replaced;
    replace.seq = 2;
    replace.order_id = 78;
    replace.price = 50;
    replace.quantity = 5;
    replace.leaves = 5;
    CHECK_THROWS_WITH(
        f.store.apply(batch_of(1, 2, {{1, 0, 0, accepted(1, 1, 50)}, {2, 0, 0, replace}})),
        Contains(db.name_in_errors()) && Contains("LSN 2 shard 0") &&
            Contains("replace of order 78, which the store does not hold open"));
    book::Event trade;
    trade.type = book::EventType::Trade;
    trade.seq = 2;
    trade.order_id = 1;
    trade.maker_order_id = 79;
    trade.trade_id = 1;
    trade.quantity = 1;
    trade.leaves = 9;
    CHECK_THROWS_WITH(
        f.store.apply(batch_of(1, 2, {{1, 0, 0, accepted(1, 1, 50)}, {2, 0, 0, trade}})),
        Contains("trade with maker order 79, which the store does not hold open"));
    // An order cancelled before the event that accepts it, in the same batch.
    book::Event early_cancel = cancel;
    early_cancel.seq = 1;
    early_cancel.order_id = 2;
    CHECK_THROWS_WITH(
        f.store.apply(batch_of(1, 2, {{1, 0, 0, early_cancel}, {2, 0, 0, accepted(2, 2, 50)}})),
        Contains("LSN 1 shard 0") && Contains("cancel of order 2, which"));
    // A duplicate order id is refused by the database itself.
    CHECK_THROWS_WITH(f.store.apply(batch_of(
                          1, 2, {{1, 0, 0, accepted(1, 1, 50)}, {2, 0, 0, accepted(1, 2, 50)}})),
                      Contains(db.name_in_errors()));
    CHECK(f.store.store_lsn() == 0);
    CHECK(db.count("SELECT count(*) FROM orders") == 0);
    CHECK(db.count("SELECT count(*) FROM audit_log") == 0);

    // The same store goes on with the next good batch.
    f.store.apply(batch_of(1, 2, {{1, 0, 0, accepted(1, 1, 50)}, {2, 0, 0, accepted(2, 2, 50)}}));
    CHECK(f.store.store_lsn() == 2);
    CHECK(db.count("SELECT count(*) FROM orders") == 2);
    CHECK(db.count("SELECT count(*) FROM audit_log") == 2);
}

// The rows of a batch go in statements of many rows (SQLite) or one COPY per table (PostgreSQL);
// when one of them breaks a key, the batch is applied again one row per statement, which names
// the failing row, and nothing of it stays.
STORE_BACKEND_TEST("store: a batch whose bulk insert breaks a key leaves nothing behind",
                   "[store]") {
    Fixture f(db);
    std::vector<StoreEvent> events;
    for (OrderId id = 1; id <= 40; ++id) {
        events.push_back({id, 0, 0, accepted(id, id, 50)});
    }
    std::vector<StoreEvent> duplicate = events;
    duplicate[39].event.order_id = 3;
    CHECK_THROWS_WITH(f.store.apply(batch_of(1, 40, duplicate)),
                      Contains(db.name_in_errors()) && !Contains("?17"));
    CHECK(f.store.store_lsn() == 0);
    CHECK(db.count("SELECT count(*) FROM orders") == 0);
    CHECK(db.count("SELECT count(*) FROM audit_log") == 0);
    f.store.apply(batch_of(1, 40, events));
    CHECK(f.store.store_lsn() == 40);
    CHECK(db.count("SELECT count(*) FROM orders") == 40);
    CHECK(db.count("SELECT count(*) FROM audit_log") == 40);

    // Two broken keys: a trade id taken (LSN 41) before an order id taken (LSN 42). Grouped by
    // table the orders would go first; the failure reported is the earlier event's.
    book::Event trade;
    trade.type = book::EventType::Trade;
    trade.seq = 41;
    trade.instrument = 1;
    trade.order_id = 2;
    trade.maker_order_id = 1;
    trade.trade_id = 1;
    trade.quantity = 1;
    trade.leaves = 9;
    trade.maker_leaves = 9;
    f.store.apply(batch_of(41, 41, {{41, 0, 0, trade}}));
    trade.seq = 42;
    trade.leaves = 8;
    trade.maker_leaves = 8;
    CHECK_THROWS_WITH(
        f.store.apply(batch_of(42, 43, {{42, 0, 0, trade}, {43, 0, 0, accepted(5, 43, 50)}})),
        Contains(db.name_in_errors()) && Contains("trade") && !Contains("orders"));
    CHECK(f.store.store_lsn() == 41);
}

STORE_BACKEND_TEST(
    "store: a replace keeps time priority only at the same price without more quantity",
    "[store]") {
    Fixture f(db);
    const auto replaced = [](SequenceNumber seq, Price price, Quantity quantity) {
        book::Event e;
        e.type = book::EventType::Replaced;
        e.seq = seq;
        e.instrument = 1;
        e.account = 2;
        e.order_id = 1;
        e.price = price;
        e.quantity = quantity;
        e.leaves = quantity;
        return e;
    };
    const auto priority = [&] {
        std::uint64_t found = 0;
        f.store.read_orders([&](const StoredOrder& o) { found = o.priority; });
        return found;
    };
    f.store.apply(batch_of(1, 1, {{1, 0, 0, accepted(1, 1, 50)}}));
    CHECK(priority() == 1);
    f.store.apply(batch_of(2, 2, {{2, 0, 0, replaced(2, 50, 5)}}));  // less quantity: kept
    CHECK(priority() == 1);
    f.store.apply(batch_of(3, 3, {{3, 0, 0, replaced(3, 50, 5)}}));  // unchanged: kept
    CHECK(priority() == 1);
    f.store.apply(batch_of(4, 4, {{4, 0, 0, replaced(4, 50, 6)}}));  // more quantity: lost
    CHECK(priority() == 4);
    f.store.apply(batch_of(5, 6,
                           {{5, 0, 0, replaced(5, 51, 6)},     // new price: lost
                            {6, 0, 0, replaced(6, 51, 2)}}));  // same batch, less: kept
    CHECK(priority() == 5);
    std::vector<StoredOrder> orders;
    f.store.read_orders([&](const StoredOrder& o) { orders.push_back(o); });
    REQUIRE(orders.size() == 1);
    CHECK(orders[0].price == 51);
    CHECK(orders[0].leaves == 2);
    CHECK(orders[0].quantity == 10);
    CHECK(orders[0].state == StoredOrderState::Open);
    CHECK(f.store.load(1, 8).shards[0].next_seq == 7);
}

STORE_BACKEND_TEST("store: load refuses a layout with fewer shards than the store holds",
                   "[store]") {
    Fixture f(db);
    f.store.apply(batch_of(1, 1, {{1, 3, 0, accepted(1, 1, 50)}}));
    CHECK_THROWS_WITH(f.store.load(2, 8), Contains("shard 3") && Contains("has 2 shards"));
    CHECK(f.store.load(4, 8).shards[3].snapshot.resting.size() == 1);
}

}  // namespace
}  // namespace exchanged::store
