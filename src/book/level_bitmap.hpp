// A hierarchical bitmap over a fixed number of price levels: one bit per level, and above it one bit
// per non-empty word, up to a single word. Finding the next non-empty level above or below any
// index touches one word per layer (at most four for kMaxPriceLevels), so a side of the book can
// skip thousands of empty ticks without scanning them.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace exchanged::book {

class LevelBitmap {
public:
    static constexpr std::int64_t kNone = -1;

    explicit LevelBitmap(std::size_t bits) {
        std::size_t words = (bits + 63) / 64;
        do {
            layers_.emplace_back(words, 0);
            words = (words + 63) / 64;
        } while (layers_.back().size() > 1);
    }

    bool test(std::int64_t index) const {
        return (layers_[0][static_cast<std::size_t>(index) >> 6] >> (index & 63)) & 1u;
    }

    void set(std::int64_t index) {
        auto i = static_cast<std::size_t>(index);
        for (auto& layer : layers_) {
            const std::uint64_t before = layer[i >> 6];
            layer[i >> 6] = before | (std::uint64_t{1} << (i & 63));
            if (before != 0) {
                return;  // the layers above already know this word is non-empty
            }
            i >>= 6;
        }
    }

    void clear(std::int64_t index) {
        auto i = static_cast<std::size_t>(index);
        for (auto& layer : layers_) {
            layer[i >> 6] &= ~(std::uint64_t{1} << (i & 63));
            if (layer[i >> 6] != 0) {
                return;
            }
            i >>= 6;
        }
    }

    // Lowest set index >= from, or kNone.
    std::int64_t next_at_or_above(std::int64_t from) const {
        std::size_t layer = 0;
        std::int64_t index = from;
        for (;; ++layer) {
            if (layer == layers_.size()) {
                return kNone;
            }
            const auto word = static_cast<std::size_t>(index >> 6);
            if (word >= layers_[layer].size()) {
                return kNone;
            }
            const std::uint64_t bits = layers_[layer][word] & (~std::uint64_t{0} << (index & 63));
            if (bits != 0) {
                index = static_cast<std::int64_t>((word << 6) + std::countr_zero(bits));
                break;
            }
            index = static_cast<std::int64_t>(word) + 1;
        }
        while (layer > 0) {
            --layer;
            const std::uint64_t bits = layers_[layer][static_cast<std::size_t>(index)];
            index = (index << 6) + std::countr_zero(bits);
        }
        return index;
    }

    // Highest set index <= from, or kNone.
    std::int64_t next_at_or_below(std::int64_t from) const {
        std::size_t layer = 0;
        std::int64_t index = from;
        for (;; ++layer) {
            if (layer == layers_.size() || index < 0) {
                return kNone;
            }
            const auto word = static_cast<std::size_t>(index >> 6);
            const unsigned bit = static_cast<unsigned>(index & 63);
            const std::uint64_t mask =
                bit == 63 ? ~std::uint64_t{0} : (std::uint64_t{1} << (bit + 1)) - 1;
            const std::uint64_t bits = layers_[layer][word] & mask;
            if (bits != 0) {
                index = static_cast<std::int64_t>((word << 6) + 63 - std::countl_zero(bits));
                break;
            }
            index = static_cast<std::int64_t>(word) - 1;
        }
        while (layer > 0) {
            --layer;
            const std::uint64_t bits = layers_[layer][static_cast<std::size_t>(index)];
            index = (index << 6) + 63 - std::countl_zero(bits);
        }
        return index;
    }

private:
    std::vector<std::vector<std::uint64_t>> layers_;
};

}  // namespace exchanged::book
