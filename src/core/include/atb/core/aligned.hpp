#pragma once
// 64-byte aligned storage for columns: one cache line, and the widest SIMD load.
#include <cstddef>
#include <new>
#include <vector>

namespace atb {

inline constexpr std::size_t column_alignment = 64;

template <class T, std::size_t Align = column_alignment>
struct aligned_allocator {
  using value_type = T;
  template <class U>
  struct rebind { using other = aligned_allocator<U, Align>; };
  aligned_allocator() noexcept = default;
  template <class U>
  aligned_allocator(aligned_allocator<U, Align> const&) noexcept {}
  T* allocate(std::size_t n) {
    return static_cast<T*>(::operator new(n * sizeof(T), std::align_val_t{Align}));
  }
  void deallocate(T* p, std::size_t) noexcept { ::operator delete(p, std::align_val_t{Align}); }
  template <class U>
  bool operator==(aligned_allocator<U, Align> const&) const noexcept { return true; }
};

/// A std::vector whose data() is 64-byte aligned.
template <class T>
using aligned_vector = std::vector<T, aligned_allocator<T>>;

}  // namespace atb
