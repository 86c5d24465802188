#include "connection.hpp"

#include <poll.h>

#include <cerrno>
#include <string>
#include <thread>

namespace lockguard::client {

namespace {

std::string trimmed(const char *msg) {
    std::string s = msg != nullptr ? msg : "";
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
}

std::string field(const PGresult *res, int code) {
    const char *v = PQresultErrorField(res, code);
    return v != nullptr ? v : "";
}

int64_t ms_left(Clock::time_point deadline) {
    if (deadline == Clock::time_point::max()) return -1;
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    return left < 0 ? 0 : left;
}

// Waits for fd until deadline; false on timeout.
bool poll_fd(int fd, bool for_write, Clock::time_point deadline) {
    for (;;) {
        int64_t left = ms_left(deadline);
        if (left == 0) return false;
        pollfd p{fd, static_cast<short>(for_write ? (POLLOUT | POLLIN) : POLLIN), 0};
        // Sliced, so that a deadline far away still rounds correctly.
        int slice = left < 0 || left > 1000 ? 1000 : static_cast<int>(left) + 1;
        int rc = poll(&p, 1, slice);
        if (rc > 0) return true;
        if (rc < 0 && errno != EINTR) return true;  // let libpq report the socket's error
    }
}

}  // namespace

std::unique_ptr<Connection> Connection::open(const std::string &conninfo, Clock::time_point deadline) {
    // Defaults first: the caller's string (expanded from dbname) overrides any of them. Keepalives
    // and tcp_user_timeout end a TCP connection to a dead host even when no deadline is near.
    const char *keys[] = {"keepalives", "keepalives_idle", "keepalives_interval", "keepalives_count",
                          "tcp_user_timeout", "dbname", nullptr};
    const char *values[] = {"1", "10", "3", "3", "15000", conninfo.c_str(), nullptr};
    PGconn *pg = PQconnectStartParams(keys, values, 1);
    if (pg == nullptr) throw Error(ErrorKind::Connection, "", "could not allocate a libpq connection");
    if (PQstatus(pg) == CONNECTION_BAD) {
        std::string msg = trimmed(PQerrorMessage(pg));
        PQfinish(pg);
        throw Error(ErrorKind::Connection, "", "could not connect: " + msg);
    }
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    for (;;) {
        if (st == PGRES_POLLING_OK) break;
        if (st == PGRES_POLLING_FAILED) {
            std::string msg = trimmed(PQerrorMessage(pg));
            PQfinish(pg);
            throw Error(ErrorKind::Connection, "", "could not connect: " + msg);
        }
        if (!poll_fd(PQsocket(pg), st == PGRES_POLLING_WRITING, deadline)) {
            PQfinish(pg);
            throw Error(ErrorKind::Deadline, "57014", "lockguard client deadline reached while connecting",
                        "The server did not complete the connection before the call's deadline.",
                        "Check that the server is running and not overloaded, or raise deadline_ms.");
        }
        st = PQconnectPoll(pg);
    }
    // Server notices (a WARNING as the server shuts down) are not the library's to print.
    PQsetNoticeProcessor(pg, [](void *, const char *) {}, nullptr);
    if (PQsetnonblocking(pg, 1) != 0) {
        std::string msg = trimmed(PQerrorMessage(pg));
        PQfinish(pg);
        throw Error(ErrorKind::Connection, "", "could not make the connection non-blocking: " + msg);
    }
    return std::unique_ptr<Connection>(new Connection(pg));
}

Connection::~Connection() {
    if (pg_ != nullptr) PQfinish(pg_);
}

bool Connection::wait_socket(bool for_write) { return poll_fd(PQsocket(pg_), for_write, deadline_); }

void Connection::abandon(const std::string &what) {
    if (PGcancel *cancel = PQgetCancel(pg_)) {
        std::thread([cancel] {
            char err[256];
            PQcancel(cancel, err, sizeof err);
            PQfreeCancel(cancel);
        }).detach();
    }
    PQfinish(pg_);
    pg_ = nullptr;
    throw Error(ErrorKind::Deadline, "57014", "lockguard client deadline reached during " + what,
                "The statement was cancelled and the connection closed; the server did not answer in time.",
                "Check that the server is running and not overloaded, or raise deadline_ms.");
}

void Connection::lost(const std::string &what) {
    std::string msg = pg_ != nullptr ? trimmed(PQerrorMessage(pg_)) : "";
    if (pg_ != nullptr) PQfinish(pg_);
    pg_ = nullptr;
    throw Error(ErrorKind::Connection, "", "connection lost during " + what + (msg.empty() ? "" : ": " + msg));
}

void Connection::send(const std::string &sql, const std::vector<Param> &params, const std::string &what) {
    if (pg_ == nullptr) throw Error(ErrorKind::Connection, "", "no connection");
    std::vector<const char *> values;
    std::vector<Oid> types;
    values.reserve(params.size());
    types.reserve(params.size());
    for (const auto &p : params) {
        values.push_back(p.value ? p.value->c_str() : nullptr);
        types.push_back(p.type);
    }
    if (PQsendQueryParams(pg_, sql.c_str(), static_cast<int>(params.size()), types.data(), values.data(), nullptr,
                          nullptr, 0) == 0)
        lost(what);
    for (;;) {
        int rc = PQflush(pg_);
        if (rc == 0) break;
        if (rc < 0) lost(what);
        if (!wait_socket(true)) abandon(what);
        if (PQconsumeInput(pg_) == 0) lost(what);
    }
}

bool Connection::await_result(const std::string &what) {
    while (PQisBusy(pg_) != 0) {
        if (!wait_socket(false)) abandon(what);
        // A failed read leaves what arrived before it (a FATAL the server sent before closing)
        // to PQgetResult; a result still incomplete then is the lost connection.
        if (PQconsumeInput(pg_) == 0 && PQisBusy(pg_) != 0) return false;
    }
    return true;
}

Error Connection::result_error(const PGresult *res) {
    std::string code = field(res, PG_DIAG_SQLSTATE);
    std::string msg = field(res, PG_DIAG_MESSAGE_PRIMARY);
    if (msg.empty()) msg = trimmed(PQresultErrorMessage(res));
    return {code.empty() ? ErrorKind::Connection : ErrorKind::Server, code, msg, field(res, PG_DIAG_MESSAGE_DETAIL),
            field(res, PG_DIAG_MESSAGE_HINT)};
}

void Connection::read_rows(PGresult *res, Rows &rows, std::string *tag) {
    rows.rows_.clear();
    const int n = PQntuples(res);
    const int m = PQnfields(res);
    rows.rows_.reserve(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
        std::vector<std::optional<std::string>> row;
        row.reserve(static_cast<size_t>(m));
        for (int j = 0; j < m; ++j) {
            if (PQgetisnull(res, i, j) != 0)
                row.emplace_back(std::nullopt);
            else
                row.emplace_back(std::string(PQgetvalue(res, i, j), PQgetlength(res, i, j)));
        }
        rows.rows_.push_back(std::move(row));
    }
    const char *affected = PQcmdTuples(res);
    rows.affected = (affected != nullptr && *affected != '\0') ? std::stoll(affected) : 0;
    if (tag != nullptr) *tag = PQcmdStatus(res);
}

void Connection::drop(const std::optional<Error> &failure, const std::string &what) {
    // A FATAL the server sent before closing (57P01) keeps its SQLSTATE; else no SQLSTATE.
    Error e = failure ? *failure
                      : Error(ErrorKind::Connection, "", "connection lost during " + what + ": " +
                                                             trimmed(PQerrorMessage(pg_)));
    PQfinish(pg_);
    pg_ = nullptr;
    throw Error(ErrorKind::Connection, e.sqlstate(), e.what(), e.detail(), e.hint());
}

Rows Connection::exec(const std::string &sql, const std::vector<Param> &params, std::string *tag) {
    const std::string what = sql.substr(0, sql.find_first_of(" ("));
    send(sql, params, what);
    // Every result of the statement is read: the rows and tag of the last one that has them, the
    // first error.
    Rows rows;
    std::optional<Error> failure;
    bool broken = false;
    for (;;) {
        if (!await_result(what)) {
            broken = true;
            break;
        }
        PGresult *res = PQgetResult(pg_);
        if (res == nullptr) break;
        ExecStatusType st = PQresultStatus(res);
        if (st == PGRES_FATAL_ERROR || st == PGRES_NONFATAL_ERROR || st == PGRES_BAD_RESPONSE) {
            if (!failure) failure = result_error(res);
        } else if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
            read_rows(res, rows, tag);
        }
        PQclear(res);
        if (PQstatus(pg_) == CONNECTION_BAD) break;
    }
    if (broken || PQstatus(pg_) == CONNECTION_BAD) drop(failure, what);
    if (failure) throw *failure;
    return rows;
}

}  // namespace lockguard::client
