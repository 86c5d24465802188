#include "pg/infra/clip.hpp"

#include <cstdarg>

extern "C" {
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
}

namespace lockguard::pg {

void copy_clipped(char *out, size_t size, const char *source, size_t length) {
    if (size == 0) return;
    size_t room = std::min(length, size - 1);
    // pg_mbcliplen stops at a terminator too; a character cut by `room` is left out whole.
    int kept = room == 0 ? 0 : pg_mbcliplen(source, static_cast<int>(std::min<size_t>(length, INT_MAX)), static_cast<int>(room));
    memcpy(out, source, kept);
    out[kept] = '\0';
}

void copy_clipped(char *out, size_t size, const char *source) { copy_clipped(out, size, source, strlen(source)); }

const char *clip_with_ellipsis(const char *text, int max_chars) {
    constexpr int kMarkChars = 3;  // "...": ASCII, so valid in every server encoding
    int length = static_cast<int>(strlen(text));
    if (length <= max_chars || pg_mbstrlen_with_len(text, length) <= max_chars) return text;
    int kept = pg_mbcharcliplen(text, length, max_chars - kMarkChars);
    return psprintf("%.*s...", kept, text);
}

void format_clipped(char *out, size_t size, const char *format, ...) {
    StringInfoData text;
    initStringInfo(&text);
    for (;;) {
        va_list args;
        va_start(args, format);
        int needed = appendStringInfoVA(&text, format, args);
        va_end(args);
        if (needed == 0) break;
        enlargeStringInfo(&text, needed);
    }
    copy_clipped(out, size, text.data, text.len);
    pfree(text.data);
}

}  // namespace lockguard::pg
