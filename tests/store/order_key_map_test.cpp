// The open-addressing map behind the writer's memory of open orders: after any mix of inserts,
// updates and erases (erase shifts later entries back), it holds exactly what a std::map holds.
#include <catch2/catch.hpp>
#include <cstdint>
#include <map>
#include <random>
#include <utility>

#include "store/order_key_map.hpp"

namespace exchanged::store {
namespace {

using Reference = std::map<std::pair<ShardId, OrderId>, std::int64_t>;

void require_same(OrderKeyMap<std::int64_t>& map, const Reference& reference) {
    REQUIRE(map.size() == reference.size());
    for (const auto& [key, value] : reference) {
        const std::int64_t* found = map.find(OrderKey{key.first, key.second});
        REQUIRE(found != nullptr);
        REQUIRE(*found == value);
    }
    Reference visited;
    map.for_each([&](const OrderKey& key, std::int64_t value) {
        REQUIRE(visited.emplace(std::pair{key.shard, key.order_id}, value).second);
    });
    REQUIRE(visited == reference);
}

TEST_CASE("store: the order key map holds what a std::map holds through inserts and erases") {
    std::mt19937_64 random(GENERATE(1u, 2u, 3u));
    OrderKeyMap<std::int64_t> map;
    Reference reference;
    // A key space of a few thousand keys over 3 shards: long probe runs, wrap-around at the end of
    // the array, erases inside runs, and growth from 1,024 slots.
    for (int step = 0; step < 60'000; ++step) {
        const auto shard = static_cast<ShardId>(random() % 3);
        const OrderId order_id = random() % 2'500;
        const OrderKey key{shard, order_id};
        const auto value = static_cast<std::int64_t>(random());
        switch (random() % 4) {
            case 0:
            case 1:
                map[key] = value;
                reference[{shard, order_id}] = value;
                break;
            case 2:
                map.erase(key);
                reference.erase({shard, order_id});
                break;
            default: {
                const std::int64_t* found = map.find(key);
                const auto it = reference.find({shard, order_id});
                REQUIRE((found == nullptr) == (it == reference.end()));
                if (found != nullptr) {
                    REQUIRE(*found == it->second);
                }
            }
        }
        if (step % 5'000 == 0) {
            require_same(map, reference);
        }
    }
    require_same(map, reference);
    map.clear();
    reference.clear();
    require_same(map, reference);
    map[OrderKey{1, 7}] = 5;
    REQUIRE(*map.find(OrderKey{1, 7}) == 5);
    REQUIRE(map.find(OrderKey{0, 7}) == nullptr);
}

}  // namespace
}  // namespace exchanged::store
