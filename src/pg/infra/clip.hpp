// Text copied into lockguard's fixed-size fields (shared memory, audit entries) is cut at a
// character boundary of the database encoding: a multibyte character cut in half would be an
// invalid string in every view that shows it, and an error for any client whose encoding
// differs.
#pragma once

#include "pg/infra/pg_prelude.hpp"

namespace lockguard::pg {

// Copies at most `length` bytes of `source` into `out` (`size` bytes, always terminated).
void copy_clipped(char *out, size_t size, const char *source, size_t length);
void copy_clipped(char *out, size_t size, const char *source);

// `text` shortened to at most `max_chars` characters of the database encoding: when anything is
// cut, the kept characters are followed by "..." (counted in max_chars), so a shortened text
// never reads as a whole one. Returns `text` itself when it fits, else a palloc'd copy.
// max_chars must be at least 4.
const char *clip_with_ellipsis(const char *text, int max_chars);

// snprintf, clipped the same way.
void format_clipped(char *out, size_t size, const char *format, ...) pg_attribute_printf(3, 4);

}  // namespace lockguard::pg
