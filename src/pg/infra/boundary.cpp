#include "pg/infra/boundary.hpp"

#include "core/error.hpp"

extern "C" {
#include "mb/pg_wchar.h"
}

namespace lockguard::pg {

const char *PgError::what() const noexcept {
    return data_ != nullptr && data_->message != nullptr ? data_->message : "PostgreSQL error";
}

ErrorData *take_pg_error(MemoryContext context) {
    MemoryContextSwitchTo(context);
    ErrorData *data = CopyErrorData();
    FlushErrorState();
    return data;
}

ErrorData *run_catching_error(void (*step)(void *), void *arg) {
    MemoryContext caller_context = CurrentMemoryContext;
    ErrorData *volatile error = nullptr;
    PG_TRY();
    {
        // A C++ exception must not leave a PG_TRY block: turn it into a PostgreSQL error here.
        bool cpp_failed = false;
        try {
            step(arg);
        } catch (...) {
            save_exception_report();
            cpp_failed = true;
        }
        if (cpp_failed) raise_saved_report();
    }
    PG_CATCH();
    {
        error = take_pg_error(caller_context);
    }
    PG_END_TRY();
    return error;
}

void raise_at_boundary(ErrorData *pg_error) {
    ReThrowError(pg_error);
    pg_unreachable();
}

namespace {

// Message parts copied out of C++ strings into fixed buffers, so that no allocation (which
// could itself fail) happens while a C++ exception is being handled.
struct PlainReport {
    char sqlstate[6];
    char message[1024];
    char detail[1024];
    char hint[512];
};

void copy_text(char *out, size_t size, const std::string &text) {
    size_t n = text.size() < size - 1 ? text.size() : size - 1;
    memcpy(out, text.data(), n);
    out[n] = '\0';
}

void fill_report(PlainReport &plain, const std::exception_ptr &error) noexcept {
    try {
        ErrorReport report = describe_exception(error);
        copy_text(plain.sqlstate, sizeof(plain.sqlstate), report.sqlstate);
        copy_text(plain.message, sizeof(plain.message), report.message);
        copy_text(plain.detail, sizeof(plain.detail), report.detail);
        copy_text(plain.hint, sizeof(plain.hint), report.hint);
    } catch (...) {
        strlcpy(plain.sqlstate, sqlstate::kOutOfMemory, sizeof(plain.sqlstate));
        strlcpy(plain.message, "out of memory", sizeof(plain.message));
    }
    if (!sqlstate::well_formed(plain.sqlstate)) strlcpy(plain.sqlstate, sqlstate::kInternalError, sizeof(plain.sqlstate));
}

PlainReport saved_report;  // a backend handles one error at a time

}  // namespace

void save_exception_report() noexcept {
    memset(&saved_report, 0, sizeof(saved_report));
    fill_report(saved_report, std::current_exception());
}

// Messages from the core may echo what the caller passed: each part is made valid text in the
// database encoding (an invalid byte becomes '?') before PostgreSQL sends it anywhere.
static void make_valid_text(char *text) {
    int encoding = GetDatabaseEncoding();
    int length = static_cast<int>(strlen(text));
    int at = 0;
    while (at < length) {
        at += pg_encoding_verifymbstr(encoding, text + at, length - at);
        if (at < length) text[at++] = '?';
    }
}

void raise_saved_report() {
    make_valid_text(saved_report.message);
    make_valid_text(saved_report.detail);
    make_valid_text(saved_report.hint);
    ereport(ERROR, (errcode(sqlstate_errcode(saved_report.sqlstate)), errmsg_internal("%s", saved_report.message),
                    saved_report.detail[0] ? errdetail_internal("%s", saved_report.detail) : 0,
                    saved_report.hint[0] ? errhint("%s", saved_report.hint) : 0));
    pg_unreachable();
}

}  // namespace lockguard::pg
