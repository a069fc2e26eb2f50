// An open-addressing hash map whose memory is fixed at construction: linear probing with
// backward-shift deletion, so no tombstones accumulate and lookups stay short on the order path.
// It never allocates after construction; insert fails (returns false) only when the map is full,
// and the owner sizes it so that cannot happen. Iteration is deliberately not offered: its order
// would depend on hash values, and the matching code must not depend on unordered iteration.
#pragma once

#include <bit>
#include <cassert>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace exchanged {

inline std::uint64_t mix64(std::uint64_t x) {
    // splitmix64 finaliser: cheap and spreads sequential ids over the whole table.
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

template <typename Key>
struct FixedHashMapHash {
    std::uint64_t operator()(const Key& key) const { return mix64(static_cast<std::uint64_t>(key)); }
};

template <typename Key, typename Value, typename Hash = FixedHashMapHash<Key>>
class FixedHashMap {
public:
    // Holds up to `max_entries`; the table is sized at least twice that so probes stay short.
    explicit FixedHashMap(std::size_t max_entries, Hash hash = Hash{})
        : hash_(hash),
          max_entries_(max_entries),
          slots_(std::bit_ceil(std::max<std::size_t>(16, max_entries * 2))),
          mask_(slots_.size() - 1) {
        assert(slots_.size() <= kEmpty);
    }

    std::size_t size() const { return size_; }
    std::size_t max_entries() const { return max_entries_; }

    Value* find(const Key& key) {
        for (std::size_t i = home(key);; i = (i + 1) & mask_) {
            Slot& slot = slots_[i];
            if (slot.home == kEmpty) {
                return nullptr;
            }
            if (slot.key == key) {
                return &slot.value;
            }
        }
    }
    const Value* find(const Key& key) const { return const_cast<FixedHashMap*>(this)->find(key); }

    // Returns false when the key is present already or the map holds max_entries.
    bool insert(const Key& key, const Value& value) {
        if (size_ >= max_entries_) {
            return false;
        }
        const std::size_t key_home = home(key);
        for (std::size_t i = key_home;; i = (i + 1) & mask_) {
            Slot& slot = slots_[i];
            if (slot.home == kEmpty) {
                slot = Slot{key, value, static_cast<std::uint32_t>(key_home)};
                ++size_;
                return true;
            }
            if (slot.key == key) {
                return false;
            }
        }
    }

    bool erase(const Key& key) {
        std::size_t i = home(key);
        for (;; i = (i + 1) & mask_) {
            if (slots_[i].home == kEmpty) {
                return false;
            }
            if (slots_[i].key == key) {
                break;
            }
        }
        // Backward-shift: pull later members of the probe run into the hole so that every
        // remaining key is still reachable from its home slot without tombstones. Each slot keeps
        // its home index, so the scan never recomputes a hash.
        std::size_t hole = i;
        for (std::size_t j = (hole + 1) & mask_; slots_[j].home != kEmpty; j = (j + 1) & mask_) {
            const bool movable = ((j - slots_[j].home) & mask_) >= ((j - hole) & mask_);
            if (movable) {
                slots_[hole] = slots_[j];
                hole = j;
            }
        }
        slots_[hole].home = kEmpty;
        --size_;
        return true;
    }

    // Hints the CPU to fetch the key's home slot now, for a lookup the caller knows is coming.
    void prefetch(const Key& key) const { __builtin_prefetch(&slots_[home(key)]); }

    void clear() {
        for (Slot& slot : slots_) {
            slot.home = kEmpty;
        }
        size_ = 0;
    }

private:
    // The home index doubles as the occupancy mark, so an 8-byte key with a 4-byte value still
    // fits 16 bytes.
    static constexpr std::uint32_t kEmpty = UINT32_MAX;
    struct Slot {
        Key key{};
        Value value{};
        std::uint32_t home = kEmpty;
    };

    std::size_t home(const Key& key) const { return hash_(key) & mask_; }

    Hash hash_;
    std::size_t max_entries_;
    std::vector<Slot> slots_;
    std::size_t mask_;
    std::size_t size_ = 0;
};

}  // namespace exchanged
