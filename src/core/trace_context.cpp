#include "core/trace_context.hpp"

#include <algorithm>
#include <cstring>

namespace lockguard {

namespace {

bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

bool all_lower_hex(std::string_view text) { return std::all_of(text.begin(), text.end(), is_lower_hex); }

bool all_zero(std::string_view text) { return text.find_first_not_of('0') == std::string_view::npos; }

// version(2) '-' trace-id(32) '-' parent-id(16) '-' flags(2)
constexpr size_t kTraceparentLength = 2 + 1 + 32 + 1 + 16 + 1 + 2;

}  // namespace

std::string_view find_traceparent_trace_id(std::string_view text) {
    for (size_t start = 0; start + kTraceparentLength <= text.size(); start++) {
        std::string_view candidate = text.substr(start, kTraceparentLength);
        if (candidate[2] != '-' || candidate[35] != '-' || candidate[52] != '-') continue;
        std::string_view version = candidate.substr(0, 2);
        std::string_view trace_id = candidate.substr(3, 32);
        std::string_view parent_id = candidate.substr(36, 16);
        std::string_view flags = candidate.substr(53, 2);
        if (!all_lower_hex(version) || version == "ff") continue;
        if (!all_lower_hex(trace_id) || all_zero(trace_id)) continue;
        if (!all_lower_hex(parent_id) || all_zero(parent_id)) continue;
        if (!all_lower_hex(flags)) continue;
        return trace_id;
    }
    return {};
}

size_t copy_traceparent_trace_id(std::string_view text, char *out, size_t size) {
    if (size == 0) return 0;
    std::string_view trace_id = find_traceparent_trace_id(text);
    size_t n = trace_id.size() < size - 1 ? trace_id.size() : size - 1;
    // "Not found" is an empty view whose data() is null: memcpy from null is undefined even
    // for zero bytes (UBSan aborts on it), so copy only when there is something to copy.
    if (n > 0) std::memcpy(out, trace_id.data(), n);
    out[n] = '\0';
    return n;
}

std::string_view named_resource_class(std::string_view name) {
    size_t colon = name.find(':');
    return colon == std::string_view::npos ? name : name.substr(0, colon);
}

}  // namespace lockguard
