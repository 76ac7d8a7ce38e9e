#include <zlib.h>

/* deflateInit2 and inflateInit2 are macros with arguments, which Swift does not import. */
static inline int lb_deflate_init2(z_streamp s, int level, int windowBits, int memLevel) {
  return deflateInit2(s, level, Z_DEFLATED, windowBits, memLevel, Z_DEFAULT_STRATEGY);
}
static inline int lb_inflate_init2(z_streamp s, int windowBits) { return inflateInit2(s, windowBits); }
