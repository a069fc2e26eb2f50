// Storage for `count` objects of a trivially destructible type, not constructed and not touched:
// large preallocated rings and slot tables take their pages at first use instead of at start (a
// promoted leader's pipeline start is on the failover's clock). The owner constructs an element
// (std::construct_at) or writes a trivially copyable one before reading it.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>

namespace exchanged {

template <typename T>
class RawArray {
    static_assert(std::is_trivially_destructible_v<T>, "elements are freed without destructors");
    static_assert(alignof(T) <= __STDCPP_DEFAULT_NEW_ALIGNMENT__, "the default new's alignment");

  public:
    explicit RawArray(std::size_t count)
        : items_(static_cast<T*>(::operator new[](count * sizeof(T)))), count_(count) {}

    std::size_t size() const { return count_; }
    T& operator[](std::size_t i) { return items_[i]; }
    const T& operator[](std::size_t i) const { return items_[i]; }

  private:
    struct Free {
        void operator()(T* items) const { ::operator delete[](items); }
    };
    std::unique_ptr<T[], Free> items_;
    std::size_t count_;
};

}  // namespace exchanged
