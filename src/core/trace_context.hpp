// Trace ids for the audit log: taken from lockguard.trace_id when set, else from a W3C
// traceparent ("00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>") that a client put into
// application_name, so an audit row can be joined with the application's traces.
#pragma once

#include <cstddef>
#include <string_view>

namespace lockguard {

// The 32-hex-digit trace id of the first well-formed traceparent inside `text`, or an empty
// view. An all-zero trace id is invalid by the W3C spec and is skipped.
std::string_view find_traceparent_trace_id(std::string_view text);

// Copies that trace id into `out` (at most size - 1 bytes, then a NUL; "" when there is none)
// and returns its length. For fixed-size buffers such as an audit entry's.
size_t copy_traceparent_trace_id(std::string_view text, char *out, size_t size);

// The resource class of a named resource for statistics: the prefix before the first ':'
// ("payment:42" -> "payment"), or the whole name when it has none.
std::string_view named_resource_class(std::string_view name);

}  // namespace lockguard
