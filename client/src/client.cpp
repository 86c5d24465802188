// run_with_lock: docs/client.md. The retry schedule, the retry classes and the traceparent
// parsing are lockguard's core (src/core), shared with the extension.
#include "lockguard/client.hpp"

#include "connection.hpp"
#include "core/backoff.hpp"
#include "core/error.hpp"
#include "core/retry_class.hpp"
#include "core/trace_context.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <sstream>
#include <thread>

namespace lockguard::client {

namespace {

int64_t ms_since(Clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

Error usage(const std::string &message, std::string hint = {}) {
    return {ErrorKind::Usage, "22023", message, {}, std::move(hint)};
}

std::string hex(uint64_t v, int digits) {
    static const char kDigits[] = "0123456789abcdef";
    std::string s(static_cast<size_t>(digits), '0');
    for (int i = digits - 1; i >= 0; --i) {
        s[static_cast<size_t>(i)] = kDigits[v & 0xF];
        v >>= 4;
    }
    return s;
}

lockguard::BackoffPolicy core_policy(const Backoff &b) { return {b.base_ms, b.max_ms, b.multiplier}; }

void validate(const std::vector<Resource> &resources, const Options &o) {
    if (o.max_attempts < 1) throw usage("invalid maximum number of attempts: " + std::to_string(o.max_attempts));
    if (o.deadline_ms <= 0) throw usage("invalid deadline: " + std::to_string(o.deadline_ms) + " ms",
                                        "The client-side deadline must be positive: a call without one could hang.");
    if (o.acquire_timeout_ms < 0 || o.acquire_timeout_ms > 86400000)
        throw usage("invalid acquire timeout: " + std::to_string(o.acquire_timeout_ms) + " ms");
    if (o.priority < -100 || o.priority > 100) throw usage("invalid priority: " + std::to_string(o.priority));
    for (const Backoff *b : {&o.backoff, &o.tenant_backoff}) {
        try {
            lockguard::validate_backoff_policy(core_policy(*b));
        } catch (const lockguard::Error &e) {
            throw Error(ErrorKind::Usage, e.sqlstate(), e.what(), e.detail(), e.hint());
        }
    }
    if (o.operation_key.size() > 1024) throw usage("operation key is longer than 1024 bytes");
    for (const auto &r : resources)
        if (r.name.empty()) throw usage("a resource without a name");
    for (const auto &t : o.fencing_tokens)
        if (t.empty()) throw usage("an empty resource name in fencing_tokens");
}

// The statement that takes every lock in one call, in lockguard's canonical order.
std::string acquire_sql(const std::vector<Resource> &resources, std::vector<Param> &params) {
    auto add = [&](std::optional<std::string> v, Oid type) {
        params.push_back({std::move(v), type});
        return "$" + std::to_string(params.size());
    };
    std::string sql = "SELECT locks FROM lockguard_acquire_all(ARRAY[";
    for (size_t i = 0; i < resources.size(); ++i) {
        const Resource &r = resources[i];
        if (i > 0) sql += ", ";
        switch (r.scope) {
            case Resource::Scope::Named: sql += "lockguard.named_lock(" + add(r.name, kTextOid); break;
            case Resource::Scope::Row:
                sql += "lockguard.row_lock(" + add(r.name, kTextOid) + "::regclass, " +
                       add(r.key, r.key_is_int ? kInt8Oid : kTextOid);
                break;
            case Resource::Scope::Table: sql += "lockguard.table_lock(" + add(r.name, kTextOid) + "::regclass"; break;
        }
        if (!r.mode.empty()) sql += ", " + add(r.mode, kTextOid);
        sql += ")";
    }
    sql += "]::lockguard.lock_request[], timeout_ms => ";
    return sql;
}

}  // namespace

// ---------------------------------------------------------------------------------------------

Resource Resource::named(std::string resource, std::string mode) {
    Resource r;
    r.scope = Scope::Named;
    r.name = std::move(resource);
    r.mode = std::move(mode);
    return r;
}

Resource Resource::row(std::string relation, int64_t key, std::string mode) {
    Resource r;
    r.scope = Scope::Row;
    r.name = std::move(relation);
    r.key = std::to_string(key);
    r.key_is_int = true;
    r.mode = std::move(mode);
    return r;
}

Resource Resource::row(std::string relation, std::string text_key, std::string mode) {
    Resource r;
    r.scope = Scope::Row;
    r.name = std::move(relation);
    r.key = std::move(text_key);
    r.mode = std::move(mode);
    return r;
}

Resource Resource::table(std::string relation, std::string mode) {
    Resource r;
    r.scope = Scope::Table;
    r.name = std::move(relation);
    r.mode = std::move(mode);
    return r;
}

const std::string &Rows::value(size_t row, size_t col) const {
    const auto &v = at(row, col);
    if (!v) throw Error(ErrorKind::Usage, "22004", "the value in row " + std::to_string(row) + ", column " +
                                                      std::to_string(col) + " is NULL");
    return *v;
}

Rows Transaction::exec(const std::string &sql, const std::vector<std::optional<std::string>> &params) {
    std::vector<Param> p;
    p.reserve(params.size());
    for (const auto &v : params) p.push_back({v, 0});
    return conn_.exec(sql, p);
}

int64_t Transaction::fencing_token(const std::string &resource) const {
    auto it = tokens_.find(resource);
    if (it == tokens_.end())
        throw usage("no fencing token for resource \"" + resource + "\"",
                    "Name the resource in Options::fencing_tokens.");
    return it->second;
}

int Transaction::backend_pid() const { return conn_.backend_pid(); }

// ---------------------------------------------------------------------------------------------

LockContext::LockContext(std::string conninfo, Metrics *metrics)
    : conninfo_(std::move(conninfo)), metrics_(metrics),
      rng_(static_cast<uint64_t>(Clock::now().time_since_epoch().count()) ^
           (static_cast<uint64_t>(getpid()) << 32) ^ reinterpret_cast<uintptr_t>(this)) {}

LockContext::~LockContext() = default;

int LockContext::backend_pid() const { return conn_ ? conn_->backend_pid() : 0; }

// One call of run_with_lock: its clock, retry budget and statistics, the attempt in progress, and
// the steps of an attempt (connect and begin, replay a finished operation, take the locks, commit,
// decide what a failure means).
struct LockContext::Call {
    Call(LockContext &context, const std::vector<Resource> &resources, const Work &fn, const Options &options)
        : ctx(context), resources(resources), fn(fn), options(options), start(Clock::now()),
          deadline(start + std::chrono::milliseconds(options.deadline_ms)),
          budget{options.max_attempts, options.deadline_ms} {}

    LockContext &ctx;
    const std::vector<Resource> &resources;
    const Work &fn;
    const Options &options;
    RunResult out;
    const Clock::time_point start;
    const Clock::time_point deadline;
    const lockguard::RetryBudget budget;
    int lock_failures = 0;
    int tenant_failures = 0;

    // The attempt in progress.
    int attempt = 0;
    AttemptRecord rec;
    bool commit_sent = false;
    Clock::time_point lock_start{};
    bool locking = false;  // in lockguard_acquire_all or fencing_token: their time is lock wait

    void set_trace_id();
    void begin_attempt(int n);
    void count_lock_wait();
    void end_attempt();  // the record's end time and the attempt count
    void finish(const std::string &outcome);
    void rollback();
    Connection &begin_transaction();
    bool replay_finished_operation(Connection &c);
    void take_locks(Connection &c, Transaction &tx);
    void commit(Connection &c, const std::string &result);
    void run_attempt();
    int32_t after_error(Error &e);
    [[noreturn]] void raise_deadline(Error &e);
    [[noreturn]] void raise_failed(Error &e);
    int32_t retry_delay(Error &e, lockguard::RetryClass cls);
    [[noreturn]] void raise_application_error();
};

void LockContext::Call::set_trace_id() {
    CallStats &stats = out.stats;
    if (!options.traceparent.empty()) {
        std::string_view id = lockguard::find_traceparent_trace_id(options.traceparent);
        if (id.empty())
            throw usage("invalid traceparent \"" + options.traceparent + "\"",
                        "Give a W3C traceparent: 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>.");
        stats.trace_id = std::string(id);
        return;
    }
    do {
        stats.trace_id = hex(lockguard::next_random(ctx.rng_), 16) + hex(lockguard::next_random(ctx.rng_), 16);
    } while (stats.trace_id == std::string(32, '0'));
}

void LockContext::Call::begin_attempt(int n) {
    attempt = n;
    rec = AttemptRecord{};
    rec.started_ms = ms_since(start);
    commit_sent = false;
    lock_start = Clock::time_point{};
    locking = false;
}

void LockContext::Call::count_lock_wait() {
    if (!locking) return;
    locking = false;
    rec.lock_wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - lock_start).count();
    out.stats.lock_wait_ms += rec.lock_wait_ms;
}

void LockContext::Call::end_attempt() {
    rec.ended_ms = ms_since(start);
    out.stats.attempts = attempt;
}

void LockContext::Call::finish(const std::string &outcome) {
    out.stats.outcome = outcome;
    out.stats.total_ms = ms_since(start);
    if (ctx.metrics_ != nullptr) ctx.metrics_->record(out.stats);
}

void LockContext::Call::rollback() {
    // A real ROLLBACK: in autocommit-less libpq nothing is sent unless we send it.
    std::unique_ptr<Connection> &conn = ctx.conn_;
    if (conn && conn->usable()) {
        try {
            conn->exec("ROLLBACK", {});
        } catch (const Error &) {
            conn.reset();
        }
    } else {
        conn.reset();
    }
}

Connection &LockContext::Call::begin_transaction() {
    std::unique_ptr<Connection> &conn = ctx.conn_;
    if (!conn || !conn->usable()) {
        conn.reset();
        conn = Connection::open(ctx.conninfo_, deadline);
    }
    conn->set_deadline(deadline);
    Connection &c = *conn;
    switch (options.isolation) {
        case Isolation::ReadCommitted: c.exec("BEGIN", {}); break;
        case Isolation::RepeatableRead: c.exec("BEGIN ISOLATION LEVEL REPEATABLE READ", {}); break;
        case Isolation::Serializable: c.exec("BEGIN ISOLATION LEVEL SERIALIZABLE", {}); break;
    }
    // Per transaction, never per session: set_config(..., true) is SET LOCAL.
    c.exec("SELECT pg_catalog.set_config('lockguard.trace_id', $1, true), "
           "pg_catalog.set_config('lockguard.tenant', $2, true)",
           {{out.stats.trace_id, kTextOid}, {options.tenant, kTextOid}});
    return c;
}

// With an operation key: claim it; an operation already done is replayed (its stored result, fn
// not run) and the call ends. True when it was replayed.
bool LockContext::Call::replay_finished_operation(Connection &c) {
    if (options.operation_key.empty()) return false;
    Rows claim = c.exec("SELECT claimed, result FROM lockguard.claim_operation($1)", {{options.operation_key, kTextOid}});
    if (claim.value(0, 0) == "t") return false;
    c.exec("COMMIT", {});
    out.result = claim.at(0, 1).value_or("");
    out.replayed = true;
    end_attempt();
    out.stats.attempt_log.push_back(rec);
    finish("replayed");
    return true;
}

void LockContext::Call::take_locks(Connection &c, Transaction &tx) {
    lock_start = Clock::now();
    locking = true;
    if (!resources.empty()) {
        std::vector<Param> params;
        std::string sql = acquire_sql(resources, params);
        int64_t left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        int64_t timeout = std::min<int64_t>(options.acquire_timeout_ms, std::max<int64_t>(left, 0));
        params.push_back({std::to_string(timeout), kInt4Oid});
        sql += "$" + std::to_string(params.size()) + ", priority => ";
        params.push_back({std::to_string(options.priority), kInt4Oid});
        sql += "$" + std::to_string(params.size()) + ")";
        c.exec(sql, params);
    }
    for (const auto &res : options.fencing_tokens) {
        Rows t = c.exec("SELECT lockguard.fencing_token($1)", {{res, kTextOid}});
        tx.tokens_[res] = std::stoll(t.value(0, 0));
    }
    count_lock_wait();
}

void LockContext::Call::commit(Connection &c, const std::string &result) {
    if (!options.operation_key.empty())
        c.exec("SELECT lockguard.complete_operation($1, $2)",
               {{options.operation_key, kTextOid},
                {result.empty() ? std::nullopt : std::optional<std::string>(result), kJsonbOid}});
    std::string tag;
    commit_sent = true;
    c.exec("COMMIT", {}, &tag);
    if (tag != "COMMIT")
        // fn caught an error of its own statement and went on: PostgreSQL answers COMMIT of
        // an aborted transaction with ROLLBACK, and nothing of the attempt was kept.
        throw Error(ErrorKind::Server, "25P02", "the transaction was rolled back at COMMIT",
                    "A statement of fn failed and fn caught the error; the server rolled the "
                    "transaction back.",
                    "Let errors of Transaction::exec propagate out of fn, so that the call can retry.");
}

// One attempt that succeeds (committed or replayed), or throws.
void LockContext::Call::run_attempt() {
    Connection &c = begin_transaction();
    if (replay_finished_operation(c)) return;
    Transaction tx(c, attempt, out.stats.trace_id);
    take_locks(c, tx);
    std::string result = fn(tx);
    commit(c, result);
    end_attempt();
    out.stats.attempt_log.push_back(rec);
    out.result = std::move(result);
    finish("committed");
}

// The client deadline passed: raised, as outcome unknown if COMMIT was in flight.
void LockContext::Call::raise_deadline(Error &e) {
    rec.error_class = "deadline";
    out.stats.attempt_log.push_back(rec);
    ctx.conn_.reset();
    if (commit_sent) {
        finish("outcome_unknown");
        throw Error(ErrorKind::OutcomeUnknown, "", "the outcome of COMMIT is unknown",
                    "The client deadline passed while COMMIT was in flight; the transaction may or "
                    "may not have committed.",
                    options.operation_key.empty()
                        ? "Give the call an operation key, so that a repeat can find out."
                        : "Call again with the same operation key: a committed operation is replayed.",
                    attempt);
    }
    finish("deadline");
    e.set_attempts(attempt);
    throw;
}

// Not retried: rolled back for real and raised as it is.
void LockContext::Call::raise_failed(Error &e) {
    out.stats.attempt_log.push_back(rec);
    rollback();
    finish("failed");
    e.set_attempts(attempt);
    throw;
}

// A retryable failure: the delay before the next attempt, or the failure raised when the budget
// (attempts or deadline) does not allow one more. Lock and tenant refusals back off separately.
int32_t LockContext::Call::retry_delay(Error &e, lockguard::RetryClass cls) {
    const bool tenant = cls == lockguard::RetryClass::Tenant;
    int n = tenant ? ++tenant_failures : ++lock_failures;
    int32_t delay = lockguard::backoff_delay_ms(core_policy(tenant ? options.tenant_backoff : options.backoff), n,
                                                lockguard::next_random(ctx.rng_));
    int64_t elapsed = ms_since(start);
    lockguard::RetryVerdict verdict = lockguard::decide_retry(budget, attempt, elapsed, delay);
    if (verdict == lockguard::RetryVerdict::Retry) {
        rec.backoff_ms = delay;
        out.stats.attempt_log.push_back(rec);
        return delay;
    }
    out.stats.attempt_log.push_back(rec);
    finish("gave_up");
    std::string why = verdict == lockguard::RetryVerdict::GiveUpAttempts ? "max_attempts reached" : "deadline reached";
    std::string detail = e.detail();
    if (!detail.empty()) detail += " ";
    detail += "run_with_lock gave up after " + std::to_string(attempt) + " attempts in " + std::to_string(elapsed) +
              " ms (" + why + ").";
    throw Error(e.kind() == ErrorKind::Connection ? ErrorKind::Connection : ErrorKind::Server, e.sqlstate(), e.what(),
                detail, e.hint(), attempt);
}

// A lockguard::client::Error ended the attempt: the delay before the next one, or it is raised
// (docs/client.md's retry table).
int32_t LockContext::Call::after_error(Error &e) {
    count_lock_wait();
    end_attempt();
    rec.sqlstate = e.sqlstate();
    if (e.kind() == ErrorKind::Deadline) raise_deadline(e);
    if (e.kind() == ErrorKind::Usage || e.kind() == ErrorKind::Application || e.kind() == ErrorKind::OutcomeUnknown) {
        rec.error_class = "fatal";
        raise_failed(e);
    }
    std::unique_ptr<Connection> &conn = ctx.conn_;
    const bool lost = e.kind() == ErrorKind::Connection || (conn && !conn->usable()) || !conn;
    if (commit_sent && lost && lockguard::commit_outcome_unknown(e.sqlstate())) {
        rec.error_class = "outcome_unknown";
        conn.reset();
        if (options.operation_key.empty()) {
            out.stats.attempt_log.push_back(rec);
            finish("outcome_unknown");
            throw Error(ErrorKind::OutcomeUnknown, e.sqlstate(), "the outcome of COMMIT is unknown",
                        std::string("The connection was lost after COMMIT was sent (") + e.what() +
                            "); the transaction may or may not have committed.",
                        "Give the call an operation key, so that it can be retried safely.", attempt);
        }
    }
    lockguard::RetryClass cls = lockguard::classify_sqlstate(e.sqlstate());
    if (e.kind() == ErrorKind::Connection && cls == lockguard::RetryClass::Fatal) cls = lockguard::RetryClass::Connection;
    if (rec.error_class.empty()) rec.error_class = lockguard::retry_class_name(cls);
    if (!lockguard::retryable(cls)) raise_failed(e);
    if (lost)
        conn.reset();
    else
        rollback();
    return retry_delay(e, cls);
}

// fn's own exception: not retried, raised as it is after a real rollback.
void LockContext::Call::raise_application_error() {
    count_lock_wait();
    end_attempt();
    rec.error_class = "application";
    out.stats.attempt_log.push_back(rec);
    rollback();
    finish("failed");
    throw;
}

RunResult LockContext::run_with_lock(const std::vector<Resource> &resources, const Work &fn, const Options &options) {
    validate(resources, options);
    Call call(*this, resources, fn, options);
    call.set_trace_id();
    for (int attempt = 1;; ++attempt) {
        call.begin_attempt(attempt);
        int32_t delay = 0;
        try {
            call.run_attempt();
            return std::move(call.out);
        } catch (Error &e) {
            delay = call.after_error(e);
        } catch (...) {
            call.raise_application_error();
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(delay));
    }
}

// ---------------------------------------------------------------------------------------------

void Metrics::Histogram::observe(double seconds) {
    size_t i = 0;
    while (i < kBuckets && seconds > kBucketsSeconds[i]) ++i;
    ++counts[i];
    sum += seconds;
    ++count;
}

void Metrics::record(const CallStats &stats) {
    std::lock_guard<std::mutex> guard(mu_);
    ++calls_[stats.outcome];
    attempts_ += static_cast<uint64_t>(stats.attempts);
    for (const auto &a : stats.attempt_log)
        if (&a != &stats.attempt_log.back()) ++retries_[a.error_class];  // every attempt but the last failed
    call_seconds_.observe(static_cast<double>(stats.total_ms) / 1000.0);
    lock_wait_seconds_.observe(static_cast<double>(stats.lock_wait_ms) / 1000.0);
}

uint64_t Metrics::calls(const std::string &outcome) const {
    std::lock_guard<std::mutex> guard(mu_);
    auto it = calls_.find(outcome);
    return it == calls_.end() ? 0 : it->second;
}

uint64_t Metrics::retries(const std::string &error_class) const {
    std::lock_guard<std::mutex> guard(mu_);
    auto it = retries_.find(error_class);
    return it == retries_.end() ? 0 : it->second;
}

std::string Metrics::prometheus_text() const {
    std::lock_guard<std::mutex> guard(mu_);
    std::ostringstream o;
    o << "# HELP lockguard_client_calls_total Calls of run_with_lock by outcome.\n"
         "# TYPE lockguard_client_calls_total counter\n";
    for (const auto &[k, v] : calls_) o << "lockguard_client_calls_total{outcome=\"" << k << "\"} " << v << "\n";
    o << "# HELP lockguard_client_attempts_total Transaction attempts made by run_with_lock.\n"
         "# TYPE lockguard_client_attempts_total counter\n"
         "lockguard_client_attempts_total " << attempts_ << "\n";
    o << "# HELP lockguard_client_retries_total Attempts that failed and were retried, by error class.\n"
         "# TYPE lockguard_client_retries_total counter\n";
    for (const auto &[k, v] : retries_) o << "lockguard_client_retries_total{class=\"" << k << "\"} " << v << "\n";
    auto histogram = [&](const char *name, const char *help, const Histogram &h) {
        o << "# HELP " << name << " " << help << "\n# TYPE " << name << " histogram\n";
        uint64_t cumulative = 0;
        for (size_t i = 0; i < kBuckets; ++i) {
            cumulative += h.counts[i];
            o << name << "_bucket{le=\"" << kBucketsSeconds[i] << "\"} " << cumulative << "\n";
        }
        cumulative += h.counts[kBuckets];
        o << name << "_bucket{le=\"+Inf\"} " << cumulative << "\n";
        o << name << "_sum " << h.sum << "\n" << name << "_count " << h.count << "\n";
    };
    histogram("lockguard_client_call_duration_seconds", "Duration of run_with_lock calls, every attempt and backoff included.",
              call_seconds_);
    histogram("lockguard_client_lock_wait_seconds", "Time a call spent taking its lockguard locks, over all attempts.",
              lock_wait_seconds_);
    return o.str();
}

}  // namespace lockguard::client
