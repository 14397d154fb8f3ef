/* Demi — compiler annotations shared by the public C headers.
 *
 * The names (ATTR_NONNULL, ATTR_NODISCARD and the SAL-style parameter markers) are those used by
 * Demikernel's public headers, so programs written against those headers compile unchanged. */
#ifndef DEMI_CC_H_IS_INCLUDED
#define DEMI_CC_H_IS_INCLUDED

#ifndef _In_
#define _In_
#endif
#ifndef _In_z_
#define _In_z_
#endif
#ifndef _In_opt_
#define _In_opt_
#endif
#ifndef _Inout_
#define _Inout_
#endif
#ifndef _In_reads_
#define _In_reads_(s)
#endif
#ifndef _In_reads_bytes_
#define _In_reads_bytes_(b)
#endif
#ifndef _Out_
#define _Out_
#endif
#ifndef _Out_writes_to_
#define _Out_writes_to_(s, c)
#endif
#ifndef _Out_writes_to_opt_
#define _Out_writes_to_opt_(s, c)
#endif

/* The library itself is built with DEMI_BUILDING_LIBRARY: it must check every pointer it is handed
 * (a NULL argument returns EINVAL), and a nonnull attribute would let the compiler delete those
 * checks. Applications get the attributes and the compiler's warnings. */
#if defined(__GNUC__) && !defined(DEMI_BUILDING_LIBRARY)
#define ATTR_NONNULL(...) __attribute__((nonnull(__VA_ARGS__)))
#define ATTR_NODISCARD __attribute__((warn_unused_result))
#else
#define ATTR_NONNULL(...)
#define ATTR_NODISCARD
#endif

#if defined(__GNUC__)
#define DEMI_EXPORT __attribute__((visibility("default")))
#else
#define DEMI_EXPORT
#endif

#endif /* DEMI_CC_H_IS_INCLUDED */
