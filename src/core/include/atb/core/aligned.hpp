#pragma once
// 64-byte aligned storage for columns: one cache line, and the widest SIMD load.
#include <cstddef>
#include <iterator>
#include <new>
#include <type_traits>
#include <utility>
#include <vector>

namespace atb {

inline constexpr std::size_t column_alignment = 64;

/// Tag: construct an element default-initialised (indeterminate for trivial types).
struct default_init_t {
  explicit default_init_t() = default;
};

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
  /// What std::allocator_traits would do without this member (value-initialisation, so
  /// vector(n) and resize(n) still zero-fill)...
  template <class U, class... Args>
  void construct(U* p, Args&&... args) noexcept(std::is_nothrow_constructible_v<U, Args...>) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
  /// ...except for the tag, which default-initialises: see aligned_vector_for_overwrite.
  template <class U>
  void construct(U* p, default_init_t const&) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U>
  bool operator==(aligned_allocator<U, Align> const&) const noexcept { return true; }
};

/// A std::vector whose data() is 64-byte aligned.
template <class T>
using aligned_vector = std::vector<T, aligned_allocator<T>>;

namespace detail {
/// n copies of the default_init_t tag as a forward range (what vector's range constructor
/// needs to size itself once and construct each element from the tag).
class default_init_iterator {
 public:
  using iterator_category = std::forward_iterator_tag;
  using value_type = default_init_t;
  using difference_type = std::ptrdiff_t;
  using pointer = default_init_t const*;
  using reference = default_init_t const&;
  default_init_iterator() = default;
  explicit default_init_iterator(std::size_t i) noexcept : i_(i) {}
  reference operator*() const noexcept { return tag; }
  default_init_iterator& operator++() noexcept { return ++i_, *this; }
  default_init_iterator operator++(int) noexcept { auto t = *this; ++i_; return t; }
  friend difference_type operator-(default_init_iterator a, default_init_iterator b) noexcept {
    return static_cast<difference_type>(a.i_ - b.i_);
  }
  friend bool operator==(default_init_iterator, default_init_iterator) = default;

 private:
  static constexpr default_init_t tag{};
  std::size_t i_ = 0;
};
}  // namespace detail

/// An aligned_vector of n elements that the caller will overwrite completely: trivial
/// elements are left indeterminate (like std::make_unique_for_overwrite). vector(n) would
/// zero-fill them first, which writes every byte twice and takes every page fault on the
/// calling thread; this way the pages stay untouched until the writers (possibly several
/// threads, each on its own slice) first write them.
template <class T>
aligned_vector<T> aligned_vector_for_overwrite(std::size_t n) {
  static_assert(std::is_trivially_default_constructible_v<T>, "for trivial element types");
  return aligned_vector<T>(detail::default_init_iterator(0), detail::default_init_iterator(n));
}

}  // namespace atb
