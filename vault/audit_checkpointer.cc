#include "vault/audit_checkpointer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "store/credential_store.h"

namespace strongroom::vault {
namespace {

// Appends `line` and a newline to `path` (created 0600) and syncs it.
Status AppendLine(const std::string& path, const std::string& line) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    return UnavailableError("audit checkpoint file " + path + ": " + std::strerror(errno));
  }
  const std::string text = line + "\n";
  const ssize_t written = ::write(fd, text.data(), text.size());
  const bool synced = ::fsync(fd) == 0;
  ::close(fd);
  if (written != static_cast<ssize_t>(text.size()) || !synced) {
    return UnavailableError("audit checkpoint file " + path + ": write failed");
  }
  return Status::Ok();
}

}  // namespace

AuditCheckpointer::AuditCheckpointer(store::CredentialStore* store, audit::CheckpointSigner* signer,
                                     std::string server, std::optional<std::string> file,
                                     std::chrono::milliseconds interval, const Clock* clock)
    : store_(*store),
      signer_(*signer),
      server_(std::move(server)),
      file_(std::move(file)),
      interval_(interval),
      clock_(*clock) {}

void AuditCheckpointer::Start() {
  thread_ = std::thread([this] { Loop(); });
}

void AuditCheckpointer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  Status last = CheckpointNow();
  if (!last.ok()) spdlog::error("audit: final checkpoint failed: {}", last.ToString());
}

void AuditCheckpointer::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    cv_.wait_for(lock, interval_, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    Status made = CheckpointNow();
    if (!made.ok()) spdlog::error("audit: checkpoint failed: {}", made.ToString());
    lock.lock();
  }
}

Status AuditCheckpointer::CheckpointNow() {
  if (signed_seq_ < 0) {
    SR_ASSIGN_OR_RETURN(std::vector<store::AuditCheckpointRecord> stored,
                        store_.ListAuditCheckpoints());
    signed_seq_ = 0;
    for (const auto& c : stored) {
      if (c.server == server_ && c.seq > signed_seq_) signed_seq_ = c.seq;
    }
  }
  SR_ASSIGN_OR_RETURN(std::optional<store::AuditRecord> head, store_.LastAuditEvent(server_));
  if (!head || head->seq <= signed_seq_) return Status::Ok();
  SR_ASSIGN_OR_RETURN(
      audit::Checkpoint checkpoint,
      audit::MakeCheckpoint(signer_, server_, audit::ChainHead{head->seq, head->hash},
                            FormatRfc3339(clock_.NowMillis())));
  SR_RETURN_IF_ERROR(store_.AppendAuditCheckpoint(store::AuditCheckpointRecord{
      checkpoint.server, checkpoint.seq, checkpoint.hash, checkpoint.time, checkpoint.signature}));
  signed_seq_ = checkpoint.seq;
  if (file_) SR_RETURN_IF_ERROR(AppendLine(*file_, audit::CheckpointJsonLine(checkpoint)));
  return Status::Ok();
}

}  // namespace strongroom::vault
