#include "pg/state/sql_arguments.hpp"

#include "core/wait_order.hpp"
#include "pg/state/backend_slots.hpp"
#include "pg/infra/compat.hpp"
#include "pg/infra/settings.hpp"

extern "C" {
#include "utils/builtins.h"
}

namespace lockguard::pg {

std::string_view resource_name_argument(FunctionCallInfo fcinfo, int argno) {
    if (PG_ARGISNULL(argno))
        ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("resource name must not be null")));
    text *name = PG_GETARG_TEXT_PP(argno);
    int length = VARSIZE_ANY_EXHDR(name);
    if (length == 0)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("resource name must not be empty"),
                        errhint("Name the resource, for example 'payment:42'.")));
    check_resource_name_length(length);
    return {VARDATA_ANY(name), static_cast<size_t>(length)};
}

void check_resource_name_length(size_t length) {
    if (length >= static_cast<size_t>(kResourceNameBytes))
        ereport(ERROR, (errcode(ERRCODE_NAME_TOO_LONG), errmsg("resource name is too long"),
                        errdetail("It is %zu bytes; the limit is %d bytes.", length, kResourceNameBytes - 1),
                        errhint("Use a shorter name, for example a prefix and an id: 'payment:42'.")));
}

int timeout_argument(FunctionCallInfo fcinfo, int argno) {
    if (PG_ARGISNULL(argno)) return settings.default_timeout_ms;
    int32 value = PG_GETARG_INT32(argno);
    if (value < 0 || value > kMaxTimeoutMs)
        ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
                        errmsg("timeout_ms must be between 0 and %d", kMaxTimeoutMs),
                        errdetail("The value given was %d.", value),
                        errhint("Use 0 to fail at once when the lock is taken, or NULL for "
                                "lockguard.default_timeout_ms.")));
    return value;
}

int32 priority_argument(FunctionCallInfo fcinfo, int argno) {
    if (PG_ARGISNULL(argno)) return 0;
    int32 priority = PG_GETARG_INT32(argno);
    validate_priority(priority);  // throws lockguard::Error (22023), raised at the boundary
    return priority;
}

const char *text_argument_or(FunctionCallInfo fcinfo, int argno, const char *fallback) {
    return PG_ARGISNULL(argno) ? fallback : text_to_cstring(PG_GETARG_TEXT_PP(argno));
}

}  // namespace lockguard::pg
