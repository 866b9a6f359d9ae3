#include "vault/internal/audit_sink.h"

#include <utility>

#include <spdlog/spdlog.h>

namespace strongroom::vault::internal {

int AuditStatusOf(const Status& status) {
  const std::string& code = status.error_code();
  switch (status.code()) {
    case StatusCode::kOk:
      return 200;
    case StatusCode::kInvalidArgument:
      return code == "unsupported_media_type" ? 415 : 400;
    case StatusCode::kUnauthenticated:
      return 401;
    case StatusCode::kPermissionDenied:
      return 403;
    case StatusCode::kNotFound:
      return 404;
    case StatusCode::kAlreadyExists:
    case StatusCode::kFailedPrecondition:
      return code == "expired" ? 410 : 409;
    case StatusCode::kResourceExhausted:
      return 413;
    case StatusCode::kUnavailable:
    case StatusCode::kAborted:
      return 503;
    default:
      return 500;
  }
}

Status AuditSink::Record(store::AuditRecord record) {
  switch (options_.mode) {
    case AuditMode::kOff:
      return Status::Ok();
    case AuditMode::kAsync: {
      std::lock_guard<std::mutex> lock(mu_);
      buffered_.push_back(std::move(record));
      return Status::Ok();
    }
    case AuditMode::kSync:
      break;
  }
  return RecordSync(std::move(record));
}

Status AuditSink::RecordSync(store::AuditRecord record) {
  Pending mine{std::move(record)};
  std::unique_lock<std::mutex> lock(mu_);
  queue_.push_back(&mine);
  while (!mine.done) {
    if (leader_active_) {
      cv_.wait(lock);
      continue;
    }
    leader_active_ = true;
    std::vector<Pending*> batch;
    batch.swap(queue_);
    lock.unlock();
    std::vector<store::AuditRecord> records;
    records.reserve(batch.size());
    for (Pending* p : batch) records.push_back(std::move(p->record));
    Status written = store_.AppendAuditEvents(&records, &AuditRecordHash);
    if (!written.ok()) {
      spdlog::error("audit: {} event(s) could not be written: {}", records.size(),
                    written.ToString());
      written = AuditUnavailableError();
    }
    lock.lock();
    for (Pending* p : batch) {
      p->status = written;
      p->done = true;
    }
    leader_active_ = false;
    cv_.notify_all();
  }
  return mine.status;
}

void AuditSink::Flush() {
  std::lock_guard<std::mutex> flushing(flush_mu_);
  std::vector<store::AuditRecord> records;
  {
    std::lock_guard<std::mutex> lock(mu_);
    records.swap(buffered_);
  }
  if (records.empty()) return;
  Status written = store_.AppendAuditEvents(&records, &AuditRecordHash);
  if (written.ok()) return;
  spdlog::error("audit: {} buffered event(s) could not be written, retrying: {}", records.size(),
                written.ToString());
  std::lock_guard<std::mutex> lock(mu_);
  // Keep their order ahead of what arrived meanwhile.
  records.insert(records.end(), std::make_move_iterator(buffered_.begin()),
                 std::make_move_iterator(buffered_.end()));
  buffered_.swap(records);
}

}  // namespace strongroom::vault::internal
