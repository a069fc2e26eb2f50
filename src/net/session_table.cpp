#include "net/session_table.hpp"

namespace exchanged::net {

namespace {

// state: generation (31 bits) << 33 | open << 32 | pins (32 bits).
constexpr std::uint64_t kPinMask = 0xFFFF'FFFFull;
constexpr std::uint64_t kOpenBit = 1ull << 32;
constexpr int kGenerationShift = 33;
constexpr std::uint64_t kGenerations = 1ull << 31;

std::uint32_t index_of(SessionId id) {
    return static_cast<std::uint32_t>(id & 0xFFFF'FFFFull);
}
std::uint64_t generation_of(SessionId id) {
    return id >> 32;
}
std::uint64_t generation_in(std::uint64_t state) {
    return state >> kGenerationShift;
}

}  // namespace

SessionTable::SessionTable(std::uint32_t slots)
    : size_(slots), slots_(std::make_unique<SessionSlot[]>(slots)) {}

SessionTable::Pin::~Pin() {
    if (slot_ != nullptr) {
        // Release: what the holder did with the slot happens before its reuse.
        slot_->state.fetch_sub(1, std::memory_order_release);
    }
}

SessionTable::Pin SessionTable::pin(SessionId id) {
    const std::uint32_t index = index_of(id);
    const std::uint64_t generation = generation_of(id);
    if (index >= size_ || generation == 0) {
        return Pin();
    }
    SessionSlot& slot = slots_[index];
    std::uint64_t state = slot.state.load(std::memory_order_acquire);
    for (;;) {
        if ((state & kOpenBit) == 0 || generation_in(state) != generation) {
            return Pin();
        }
        // Acquire: the contents the acceptor wrote before publishing are visible.
        if (slot.state.compare_exchange_weak(state, state + 1, std::memory_order_acquire)) {
            return Pin(&slot);
        }
    }
}

std::optional<std::uint32_t> SessionTable::find_free() {
    for (std::uint32_t n = 0; n < size_; ++n) {
        const std::uint32_t index = (cursor_ + n) % size_;
        const std::uint64_t state = slots_[index].state.load(std::memory_order_acquire);
        if ((state & kOpenBit) == 0 && (state & kPinMask) == 0) {
            cursor_ = (index + 1) % size_;
            return index;
        }
    }
    return std::nullopt;
}

SessionId SessionTable::next_id(std::uint32_t index) const {
    std::uint64_t generation = generation_in(slots_[index].state.load(std::memory_order_relaxed));
    generation = generation + 1 < kGenerations ? generation + 1 : 1;  // 0 would make id 0 valid
    return (generation << 32) | index;
}

void SessionTable::publish(std::uint32_t index, SessionId id) {
    // The slot is closed and unpinned, and no pin can start on a closed slot: a plain store.
    slots_[index].state.store((generation_of(id) << kGenerationShift) | kOpenBit,
                              std::memory_order_release);
    open_.fetch_add(1, std::memory_order_relaxed);
}

void SessionTable::close(SessionId id) {
    const std::uint32_t index = index_of(id);
    if (index >= size_) {
        return;
    }
    SessionSlot& slot = slots_[index];
    std::uint64_t state = slot.state.load(std::memory_order_relaxed);
    while ((state & kOpenBit) != 0 && generation_in(state) == generation_of(id)) {
        if (slot.state.compare_exchange_weak(state, state & ~kOpenBit, std::memory_order_acq_rel)) {
            open_.fetch_sub(1, std::memory_order_relaxed);
            return;
        }
    }
}

}  // namespace exchanged::net
