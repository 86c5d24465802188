// The C++/PostgreSQL boundary.
//
// PostgreSQL reports errors with longjmp; C++ unwinds with exceptions. Neither may cross the
// other. Every extern "C" entry point runs its body through run_at_boundary(), which turns any
// C++ exception into ereport(ERROR) after every C++ object is gone. Inside C++ code, a
// PostgreSQL call that may ereport runs through pg_guarded(), which turns the longjmp into a
// PgError exception carrying the original ErrorData, re-thrown unchanged at the boundary, so
// 55P03, 40P01 and 57014 keep their SQLSTATE, detail and hint.
#pragma once

#include "core/sqlstate.hpp"
#include "pg/infra/pg_prelude.hpp"

namespace lockguard::pg {

// PostgreSQL's errcode for a code of lockguard's SQLSTATE table (core/sqlstate.hpp): the one
// place a lockguard SQLSTATE becomes what ereport takes.
constexpr int sqlstate_errcode(const char *code) {
    return MAKE_SQLSTATE(code[0], code[1], code[2], code[3], code[4]);
}

// A PostgreSQL error caught in C++ code on its way to the boundary.
class PgError final : public std::exception {
public:
    explicit PgError(ErrorData *data) noexcept : data_(data) {}
    [[nodiscard]] const char *what() const noexcept override;
    [[nodiscard]] ErrorData *data() const noexcept { return data_; }

private:
    ErrorData *data_;  // palloc'd in the memory context that was current when it was caught
};

// Copies the error being handled in a PG_CATCH block into `context` and clears the error
// state, as PL/pgSQL exception blocks do.
ErrorData *take_pg_error(MemoryContext context);

// Runs `step(arg)` and returns the PostgreSQL error it raised (copied, error state cleared), or
// nullptr. For C-style steps whose errors the caller translates.
ErrorData *run_catching_error(void (*step)(void *), void *arg);

// Raises the error that reached the boundary; never returns.
[[noreturn]] void raise_at_boundary(ErrorData *pg_error);

// Inside a catch block: copies the exception's report into static storage, without
// allocating. Outside it: raises that report as ereport(ERROR).
void save_exception_report() noexcept;
[[noreturn]] void raise_saved_report();

// Runs `body`, which calls PostgreSQL and holds only trivially destructible objects, so that
// a PostgreSQL error comes back as a PgError exception instead of a longjmp over C++ frames.
template <typename Body>
auto pg_guarded(Body &&body) -> decltype(body()) {
    using Result = decltype(body());
    if constexpr (std::is_void_v<Result>) {
        pg_guarded([&body] { body(); return 0; });
    } else {
        static_assert(std::is_scalar_v<Result>, "pg_guarded returns plain values (pointers, numbers) only");
        MemoryContext caller_context = CurrentMemoryContext;
        ErrorData *volatile caught = nullptr;
        std::exception_ptr cpp_error;  // a C++ exception must not leave the PG_TRY block
        volatile Result result{};      // volatile: set between setjmp and a possible longjmp
        PG_TRY();
        {
            try {
                result = body();
            } catch (...) {
                cpp_error = std::current_exception();
            }
        }
        PG_CATCH();
        {
            caught = take_pg_error(caller_context);
        }
        PG_END_TRY();
        if (caught != nullptr) throw PgError(caught);
        if (cpp_error) std::rethrow_exception(cpp_error);
        return result;
    }
}

// The body of every extern "C" entry point. `body` returns what the entry point returns.
// This frame holds only trivial objects, so a PostgreSQL error raised directly by glue code
// inside `body` may longjmp through it.
template <typename Body>
auto run_at_boundary(Body &&body) -> decltype(body()) {
    ErrorData *pg_error = nullptr;
    try {
        return body();
    } catch (const PgError &error) {
        pg_error = error.data();
    } catch (...) {
        save_exception_report();
    }
    // Out of the catch blocks, the exception object is gone: only now may PostgreSQL longjmp.
    if (pg_error != nullptr) raise_at_boundary(pg_error);
    raise_saved_report();
}

}  // namespace lockguard::pg
