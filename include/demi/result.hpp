// Demi — errors as values: result<T> holds either a T or an errno-compatible error code.
#pragma once

#include <cerrno>
#include <cstring>
#include <new>
#include <type_traits>
#include <utility>

namespace demi {

/// An errno-compatible error code (always positive).
class error {
public:
    constexpr explicit error(int code) noexcept : code_(code) {}
    [[nodiscard]] constexpr int code() const noexcept { return code_; }
    [[nodiscard]] const char *message() const noexcept { return std::strerror(code_); }
    friend constexpr bool operator==(error a, error b) noexcept { return a.code_ == b.code_; }

private:
    int code_;
};

/// Either a value of type T or an error. Cheap to move; no allocation, no exceptions.
template <class T>
class [[nodiscard]] result {
public:
    result(const T &v) noexcept(std::is_nothrow_copy_constructible_v<T>) : ok_(true) { new (&val_) T(v); }
    result(T &&v) noexcept(std::is_nothrow_move_constructible_v<T>) : ok_(true) { new (&val_) T(std::move(v)); }
    result(error e) noexcept : err_(e.code()), ok_(false) {}
    result(const result &o) : ok_(o.ok_) {
        if (ok_)
            new (&val_) T(o.val_);
        else
            err_ = o.err_;
    }
    result(result &&o) noexcept(std::is_nothrow_move_constructible_v<T>) : ok_(o.ok_) {
        if (ok_)
            new (&val_) T(std::move(o.val_));
        else
            err_ = o.err_;
    }
    result &operator=(result o) noexcept(std::is_nothrow_move_constructible_v<T>) {
        this->~result();
        new (this) result(std::move(o));
        return *this;
    }
    ~result() {
        if (ok_) val_.~T();
    }

    [[nodiscard]] bool has_value() const noexcept { return ok_; }
    explicit operator bool() const noexcept { return ok_; }
    [[nodiscard]] T &value() & noexcept { return val_; }
    [[nodiscard]] const T &value() const & noexcept { return val_; }
    [[nodiscard]] T &&value() && noexcept { return std::move(val_); }
    T &operator*() & noexcept { return val_; }
    const T &operator*() const & noexcept { return val_; }
    T *operator->() noexcept { return &val_; }
    const T *operator->() const noexcept { return &val_; }
    /// The error code, or 0 when a value is held.
    [[nodiscard]] int code() const noexcept { return ok_ ? 0 : err_; }
    [[nodiscard]] error err() const noexcept { return error(err_); }

private:
    union {
        T val_;
        int err_;
    };
    bool ok_;
};

/// The result of an operation that yields nothing but may fail.
template <>
class [[nodiscard]] result<void> {
public:
    result() noexcept = default;
    result(error e) noexcept : err_(e.code()) {}
    [[nodiscard]] bool has_value() const noexcept { return err_ == 0; }
    explicit operator bool() const noexcept { return err_ == 0; }
    [[nodiscard]] int code() const noexcept { return err_; }
    [[nodiscard]] error err() const noexcept { return error(err_); }

private:
    int err_ = 0;
};

/// Shorthand for a successful result<void>.
inline result<void> ok() noexcept { return {}; }

} // namespace demi
