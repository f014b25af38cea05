#pragma once
// Result<T, E>: the value of an operation that can fail in an expected way, or
// the typed error saying why. Used at module boundaries (config loading, storage,
// proposals) where an exception would hide the failure from the caller's type.
// Not thread-safe; a plain value type.

#include <cstdio>
#include <cstdlib>
#include <utility>
#include <variant>

namespace ringwatch::core {

template <typename E>
struct Error {
  E value;
};

template <typename E>
Error<std::decay_t<E>> MakeError(E&& e) {
  return Error<std::decay_t<E>>{std::forward<E>(e)};
}

template <typename T, typename E>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error<E> error) : v_(std::in_place_index<1>, std::move(error.value)) {}  // NOLINT

  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // Precondition: ok(). Reading the value of a failed result is a bug.
  T& value() & { return Get<0>(); }
  const T& value() const& { return Get<0>(); }
  T&& value() && { return std::move(Get<0>()); }

  // Precondition: !ok().
  const E& error() const& { return const_cast<Result*>(this)->template Get<1>(); }
  E&& error() && { return std::move(Get<1>()); }

 private:
  template <std::size_t I>
  auto& Get() {
    if (v_.index() != I) {
      std::fputs(I == 0 ? "Result: value() of an error\n" : "Result: error() of a value\n", stderr);
      std::abort();
    }
    return *std::get_if<I>(&v_);
  }
  template <std::size_t I>
  const auto& Get() const {
    return const_cast<Result*>(this)->template Get<I>();
  }

  std::variant<T, E> v_;
};

}  // namespace ringwatch::core
