// Secret hygiene for JSON documents that hold plaintext (request bodies,
// decrypted credential data, responses, MCP documents): the one helper every
// layer uses, so no copy of a secret is left in freed heap by a JSON DOM.
//
// nlohmann::json keeps string values in ordinary std::strings, which free
// their buffers unwiped. These helpers overwrite every string value (with
// OPENSSL_cleanse, through SecureWipe) before the document dies. Object keys
// are field names, never secrets, and are not wiped; numbers and booleans are
// not secret either.
//
// Thread safety: none of its own; a document is used by one thread at a time.
#pragma once

#include <utility>

#include <nlohmann/json.hpp>

#include "base/secret.h"

namespace strongroom {

// Overwrites every string value in `value` (recursively). The document keeps
// its shape; its strings hold zero bytes afterwards.
void WipeJsonStrings(nlohmann::json& value) noexcept;
void WipeJsonStrings(nlohmann::ordered_json& value) noexcept;

// Compact serialisation (json::dump() with no indent) straight into wiping
// memory, so encoded secrets never pass through an ordinary std::string
// (whose growth would leave copies in freed heap). Throws
// nlohmann::json::type_error for invalid UTF-8, as json::dump() does.
SecretStdString DumpToSecret(const nlohmann::json& value);
SecretStdString DumpToSecret(const nlohmann::ordered_json& value);

// Wipes the strings of a document it does not own when the scope ends.
template <class Json>
class JsonWipeGuard final {
 public:
  explicit JsonWipeGuard(Json& value) : value_(value) {}
  JsonWipeGuard(const JsonWipeGuard&) = delete;
  JsonWipeGuard& operator=(const JsonWipeGuard&) = delete;
  ~JsonWipeGuard() { WipeJsonStrings(value_); }

 private:
  Json& value_;
};

// A JSON document that holds plaintext and wipes its strings when it dies
// (or is assigned over). Move-only, so no unwiped copy is made by accident;
// use `*doc` / `doc->` to reach the document.
template <class Json>
class BasicSecretJson final {
 public:
  BasicSecretJson() = default;
  explicit BasicSecretJson(Json value) : value_(std::move(value)) {}
  BasicSecretJson(BasicSecretJson&& other) noexcept : value_(std::move(other.value_)) {}
  BasicSecretJson& operator=(BasicSecretJson&& other) noexcept {
    if (this != &other) {
      WipeJsonStrings(value_);
      value_ = std::move(other.value_);
    }
    return *this;
  }
  BasicSecretJson(const BasicSecretJson&) = delete;
  BasicSecretJson& operator=(const BasicSecretJson&) = delete;
  ~BasicSecretJson() { WipeJsonStrings(value_); }

  Json& operator*() { return value_; }
  const Json& operator*() const { return value_; }
  Json* operator->() { return &value_; }
  const Json* operator->() const { return &value_; }

 private:
  Json value_;
};

using SecretJson = BasicSecretJson<nlohmann::json>;
using SecretOrderedJson = BasicSecretJson<nlohmann::ordered_json>;

}  // namespace strongroom
