// Errors as values inside the library: the public result<T> plus propagation helpers.
#pragma once

#include <demi/result.hpp>

/// Evaluates `expr` (a result<T>); on error returns that error from the enclosing function.
#define DEMI_TRY(expr)                                                                                                 \
    do {                                                                                                               \
        if (auto demi_try_r_ = (expr); !demi_try_r_) return ::demi::error(demi_try_r_.code());                       \
    } while (0)
