// A hash map from (shard, order id) to a value, with its entries in one array (open addressing,
// linear probing, deletion by backward shift): no allocation per entry, so the writer's memory of
// open orders (open_orders.hpp) costs no malloc/free per order accepted or finished. A pointer to a
// value stays valid until the next insertion (which may grow the array) or erase.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "store/store.hpp"

namespace exchanged::store {

struct OrderKey {
    ShardId shard = 0;
    OrderId order_id = 0;
    friend bool operator==(const OrderKey&, const OrderKey&) = default;
};

template <typename Value>
class OrderKeyMap {
  public:
    std::size_t size() const { return size_; }

    Value* find(const OrderKey& key) {
        if (size_ == 0) {
            return nullptr;
        }
        for (std::size_t i = home(key);; i = (i + 1) & mask_) {
            Slot& slot = slots_[i];
            if (!slot.used) {
                return nullptr;
            }
            if (slot.key == key) {
                return &slot.value;
            }
        }
    }

    // The key's value, value-initialized when the key was missing.
    Value& operator[](const OrderKey& key) {
        if ((size_ + 1) * 2 > slots_.size()) {
            grow();
        }
        std::size_t i = home(key);
        for (; slots_[i].used; i = (i + 1) & mask_) {
            if (slots_[i].key == key) {
                return slots_[i].value;
            }
        }
        slots_[i].used = true;
        slots_[i].key = key;
        slots_[i].value = Value{};
        ++size_;
        return slots_[i].value;
    }

    void erase(const OrderKey& key) {
        if (size_ == 0) {
            return;
        }
        std::size_t hole = home(key);
        for (;; hole = (hole + 1) & mask_) {
            if (!slots_[hole].used) {
                return;
            }
            if (slots_[hole].key == key) {
                break;
            }
        }
        // Backward shift: move up every later entry of the run whose home does not lie between
        // the hole and it, so that no probe meets an empty slot before its key.
        for (std::size_t next = (hole + 1) & mask_; slots_[next].used; next = (next + 1) & mask_) {
            const std::size_t want = home(slots_[next].key);
            if (((next - want) & mask_) >= ((next - hole) & mask_)) {
                slots_[hole] = std::move(slots_[next]);
                hole = next;
            }
        }
        slots_[hole].used = false;
        --size_;
    }

    void clear() {
        if (size_ == 0) {
            return;
        }
        for (Slot& slot : slots_) {
            slot.used = false;
        }
        size_ = 0;
    }

    template <typename Visit>
    void for_each(Visit&& visit) const {
        for (const Slot& slot : slots_) {
            if (slot.used) {
                visit(slot.key, slot.value);
            }
        }
    }

  private:
    struct Slot {
        OrderKey key;
        bool used = false;
        Value value{};
    };

    std::size_t home(const OrderKey& key) const {
        const std::uint64_t h =
            (key.order_id ^ (std::uint64_t{key.shard} << 48)) * 0x9e3779b97f4a7c15ULL;
        return static_cast<std::size_t>(h >> shift_) & mask_;
    }

    void grow() {
        std::vector<Slot> old = std::move(slots_);
        const std::size_t capacity = old.empty() ? 1024 : old.size() * 2;
        slots_.assign(capacity, Slot{});
        mask_ = capacity - 1;
        shift_ = 64 - static_cast<unsigned>(__builtin_ctzll(capacity));
        size_ = 0;
        for (Slot& slot : old) {
            if (slot.used) {
                (*this)[slot.key] = std::move(slot.value);
            }
        }
    }

    std::vector<Slot> slots_;
    std::size_t size_ = 0;
    std::size_t mask_ = 0;
    unsigned shift_ = 64;
};

}  // namespace exchanged::store
