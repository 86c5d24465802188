// Errors raised by the pure C++ core.
//
// The core never sees PostgreSQL, so it describes an error the way PostgreSQL reports it
// (SQLSTATE, message, detail, hint) and leaves the ereport() to the glue's boundary.
#pragma once

#include "core/sqlstate.hpp"

#include <exception>
#include <stdexcept>
#include <string>

namespace lockguard {

// An error with a SQLSTATE (from core/sqlstate.hpp) and PostgreSQL-style message parts.
class Error : public std::runtime_error {
public:
    Error(std::string sqlstate, const std::string &message, std::string detail = {}, std::string hint = {})
        : std::runtime_error(message),
          sqlstate_(std::move(sqlstate)),
          detail_(std::move(detail)),
          hint_(std::move(hint)) {}

    [[nodiscard]] const std::string &sqlstate() const { return sqlstate_; }
    [[nodiscard]] const std::string &detail() const { return detail_; }
    [[nodiscard]] const std::string &hint() const { return hint_; }

private:
    std::string sqlstate_;
    std::string detail_;
    std::string hint_;
};

// What the boundary reports for an exception that reached it.
struct ErrorReport {
    std::string sqlstate;
    std::string message;
    std::string detail;
    std::string hint;
};

// Turns any exception into a report: lockguard::Error keeps its parts, std::bad_alloc becomes
// 53200, anything else an internal error (XX000) whose message says where it came from.
ErrorReport describe_exception(const std::exception_ptr &error);

}  // namespace lockguard
