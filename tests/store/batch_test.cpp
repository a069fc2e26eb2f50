// Exactly-once batches: store_lsn decides what is new, a gap is refused, and a failing batch
// leaves nothing behind.
#include <catch2/catch.hpp>

#include "store/sqlite_store.hpp"
#include "temp_file.hpp"

namespace exchanged::store {
namespace {

using Catch::Matchers::Contains;
using exchanged::test::TempDir;

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
    TempDir dir;
    SqliteStore store{dir.path() / "store.sqlite", SqliteStoreOptions{true, {}}};
    Fixture() { store.migrate(); }
};

TEST_CASE("store: a batch applied twice changes nothing", "[store]") {
    Fixture f;
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

TEST_CASE("store: a batch after a gap is refused", "[store]") {
    Fixture f;
    f.store.apply(batch_of(1, 2, {{1, 0, 0, accepted(1, 1, 50)}}));
    CHECK_THROWS_WITH(f.store.apply(batch_of(4, 5, {{4, 0, 0, accepted(2, 2, 51)}})),
                      Contains("batch 4..5") && Contains("gap") && Contains("up to LSN 2"));
    CHECK(f.store.store_lsn() == 2);
    f.store.apply(batch_of(3, 5, {{4, 0, 0, accepted(2, 2, 51)}}));
    CHECK(f.store.store_lsn() == 5);
}

TEST_CASE("store: a malformed batch is refused", "[store]") {
    Fixture f;
    CHECK_THROWS_WITH(f.store.apply(batch_of(0, 1, {})), Contains("not a valid LSN range"));
    CHECK_THROWS_WITH(f.store.apply(batch_of(3, 2, {})), Contains("not a valid LSN range"));
    CHECK_THROWS_WITH(f.store.apply(batch_of(1, 2, {{3, 0, 0, accepted(1, 1, 50)}})),
                      Contains("outside the range"));
    CHECK_THROWS_WITH(f.store.apply(batch_of(
                          1, 2, {{2, 0, 0, accepted(1, 1, 50)}, {1, 0, 0, accepted(2, 2, 50)}})),
                      Contains("out of order"));
    CHECK(f.store.store_lsn() == 0);
}

TEST_CASE("store: a batch that fails midway leaves nothing behind", "[store]") {
    Fixture f;
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
}

TEST_CASE("store: load refuses a layout with fewer shards than the store holds", "[store]") {
    Fixture f;
    f.store.apply(batch_of(1, 1, {{1, 3, 0, accepted(1, 1, 50)}}));
    CHECK_THROWS_WITH(f.store.load(2, 8), Contains("shard 3") && Contains("has 2 shards"));
    CHECK(f.store.load(4, 8).shards[3].snapshot.resting.size() == 1);
}

}  // namespace
}  // namespace exchanged::store
