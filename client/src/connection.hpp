// One libpq connection driven without blocking: every wait is a poll() bounded by the call's
// deadline, so a frozen server (or postmaster) cannot hold the caller past it.
#pragma once

#include "lockguard/client.hpp"

#include <libpq-fe.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace lockguard::client {

using Clock = std::chrono::steady_clock;

// Parameter types sent with internal statements (PostgreSQL's built-in OIDs).
inline constexpr Oid kTextOid = 25;
inline constexpr Oid kInt4Oid = 23;
inline constexpr Oid kInt8Oid = 20;
inline constexpr Oid kJsonbOid = 3802;

struct Param {
    std::optional<std::string> value;
    Oid type = 0;  // 0: the server infers it
};

class Connection {
public:
    // Connects (several hosts and target_session_attrs as libpq does them), bounded by deadline.
    // Throws Error: Connection (refused, lost, no read-write server) or Deadline.
    static std::unique_ptr<Connection> open(const std::string &conninfo, Clock::time_point deadline);
    ~Connection();
    Connection(const Connection &) = delete;
    Connection &operator=(const Connection &) = delete;

    // Sends one statement (unnamed, parameters as text with their types) and waits for its
    // results until `deadline_`. Throws Error: Server (the server's SQLSTATE, message, detail,
    // hint), Connection (lost: no SQLSTATE) or Deadline (the statement was cancelled, and the
    // connection closed). The command tag of the last result goes to *tag when given.
    Rows exec(const std::string &sql, const std::vector<Param> &params, std::string *tag = nullptr);

    [[nodiscard]] bool usable() const { return pg_ != nullptr && PQstatus(pg_) == CONNECTION_OK; }
    [[nodiscard]] int backend_pid() const { return pg_ != nullptr ? PQbackendPID(pg_) : 0; }
    void set_deadline(Clock::time_point d) { deadline_ = d; }
    [[nodiscard]] Clock::time_point deadline() const { return deadline_; }

private:
    explicit Connection(PGconn *pg) : pg_(pg) {}
    // Waits for the socket; false when the deadline passed first.
    bool wait_socket(bool for_write);
    // The deadline passed with a statement in flight: send a cancel request from a thread of its
    // own (PQcancel blocks until the postmaster answers, and a frozen one never does), close the
    // connection at once, and throw Deadline.
    [[noreturn]] void abandon(const std::string &what);
    [[noreturn]] void lost(const std::string &what);
    // The steps of exec: send the statement and flush it; wait until a result can be read (false:
    // the connection broke first); turn an error result into an Error; keep a result's rows and
    // command tag; close a broken connection and throw Connection with the server's SQLSTATE if
    // it sent one.
    void send(const std::string &sql, const std::vector<Param> &params, const std::string &what);
    bool await_result(const std::string &what);
    static Error result_error(const PGresult *res);
    static void read_rows(PGresult *res, Rows &rows, std::string *tag);
    [[noreturn]] void drop(const std::optional<Error> &failure, const std::string &what);

    PGconn *pg_;
    Clock::time_point deadline_ = Clock::time_point::max();
};

}  // namespace lockguard::client
